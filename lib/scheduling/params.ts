// Typed reading of a plugin's free-form `params` block. Each factory reads the keys it
// knows and then calls `done()`, so a misspelt key is an error at load time, as unknown
// keys are everywhere else in the config.
import { parseDuration } from '../config/units';

/** A bad or unknown param; `key` lets the validator point at it. */
export class ParamError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParamError';
  }
}

interface Range {
  min?: number;
  max?: number;
  int?: boolean;
  /** 0 is allowed too, whatever `min` says (0 = the feature is off). */
  zeroOff?: boolean;
}

export class Params {
  private readonly used = new Set<string>();

  constructor(
    /** e.g. `scorer "prefix-affinity"`, for messages. */
    private readonly owner: string,
    private readonly raw: Readonly<Record<string, unknown>> = {},
  ) {}

  number(key: string, def: number, range: Range = {}): number {
    const v = this.take(key);
    if (v === undefined) return def;
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (range.min === undefined || v >= range.min || (range.zeroOff === true && v === 0)) &&
      (range.max === undefined || v <= range.max) &&
      (!range.int || Number.isInteger(v));
    if (!ok) throw new ParamError(key, `${this.owner}: param "${key}" must be ${describe(range)}, got ${JSON.stringify(v)}`);
    return v as number;
  }

  /** Milliseconds, from a duration string ("2m") or a number of milliseconds. */
  duration(key: string, defMs: number): number {
    const v = this.take(key);
    if (v === undefined) return defMs;
    const ms = typeof v === 'string' ? parseDuration(v) : typeof v === 'number' && v >= 0 ? v : undefined;
    if (ms === undefined) throw new ParamError(key, `${this.owner}: param "${key}" must be a duration such as "30s", got ${JSON.stringify(v)}`);
    return ms;
  }

  /** One of `options` (strings). */
  choice<T extends string>(key: string, def: T, options: readonly T[]): T {
    const v = this.take(key);
    if (v === undefined) return def;
    if (!options.includes(v as T)) throw new ParamError(key, `${this.owner}: param "${key}" must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  /** Throws on the first key no reader asked for. */
  done(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.used.has(key)) throw new ParamError(key, `${this.owner}: unknown param "${key}"`);
    }
  }

  private take(key: string): unknown {
    this.used.add(key);
    return this.raw[key];
  }
}

function describe(r: Range): string {
  const kind = (r.zeroOff ? '0 (off) or ' : '') + (r.int ? 'an integer' : 'a number');
  if (r.min !== undefined && r.max !== undefined) return `${kind} in [${r.min}, ${r.max}]`;
  if (r.min !== undefined) return `${kind} ≥ ${r.min}`;
  if (r.max !== undefined) return `${kind} ≤ ${r.max}`;
  return kind;
}
