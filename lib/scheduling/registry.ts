// The plugins a scheduler profile can name, and how each is built from its `params`.
// Factories are pure (no timers, no I/O): the config validator builds plugins to check
// them. Each factory reads its params through `Params`, which rejects unknown keys.
import type { PluginRef, PoolConfig } from '../config/schema';
import { Params } from './params';
import { readSaturationLimits, readSlowFactor, type QueueView } from './signals/load';
import type { Filter, Picker, Scorer } from './types';
import { ModelLoadedFilter } from './filters/model-loaded';
import { ServesModelFilter } from './filters/serves-model';
import { gpuUtilScorer } from './scorers/gpu-util';
import { InflightScorer } from './scorers/inflight';
import { kvCacheScorer } from './scorers/kv-cache';
import { PrefixAffinityScorer } from './scorers/prefix-affinity';
import { QueueScorer } from './scorers/queue';
import { SessionAffinityScorer } from './scorers/session-affinity';
import { MaxScorePicker } from './pickers/max-score';
import { PowerOfTwoPicker } from './pickers/power-of-two';
import { RandomPicker } from './pickers/random';
import { RoundRobinPicker } from './pickers/round-robin';
import { WeightedRandomPicker } from './pickers/weighted-random';

export interface PluginContext {
  readonly poolName: string;
  readonly pool: PoolConfig;
  /** Uniform in [0,1); injectable for tests. */
  readonly random: () => number;
}

type Factory<T> = (p: Params, ctx: PluginContext) => T;

const limits = (p: Params, ctx: PluginContext) => readSaturationLimits(p, ctx.pool.breaker.max_requests_per_backend);

const FILTERS: Readonly<Record<string, Factory<Filter>>> = {
  'serves-model': () => new ServesModelFilter(),
  'model-loaded': (p, ctx) => new ModelLoadedFilter(limits(p, ctx), p.choice<QueueView>('queue', 'estimated', ['estimated', 'scraped', 'none'])),
};

const SCORERS: Readonly<Record<string, Factory<Scorer>>> = {
  inflight: () => new InflightScorer(),
  queue: () => new QueueScorer(),
  'kv-cache': kvCacheScorer,
  'gpu-util': gpuUtilScorer,
  'session-affinity': (p, ctx) =>
    new SessionAffinityScorer({
      epsilon: p.number('load_factor', ctx.pool.session.load_factor, { min: 1 }) - 1,
      limits: limits(p, ctx),
      slowFactor: readSlowFactor(p),
      pinTtl: p.duration('pin_ttl', 600_000),
      maxPins: p.number('max_pins', 100_000, { min: 1, int: true }),
    }),
  'prefix-affinity': (p, ctx) =>
    new PrefixAffinityScorer({
      blockSize: p.number('block_size', 64, { min: 1, int: true }),
      maxBlocks: p.number('max_blocks', 256, { min: 1, int: true }),
      maxEntries: p.number('max_entries', 100_000, { min: 1, int: true }),
      maxHolders: p.number('max_holders', 8, { min: 1, int: true }),
      ttl: p.duration('ttl', 120_000),
      balanceAbs: p.number('balance_abs', 64, { min: 0 }),
      balanceRel: p.number('balance_rel', 1.5, { min: 1 }),
      matchThreshold: p.number('match_threshold', 0.1, { min: 0, max: 1 }),
      queue: p.choice<QueueView>('queue', 'none', ['none', 'scraped', 'estimated']),
      limits: limits(p, ctx),
      slowFactor: readSlowFactor(p),
    }),
};

const PICKERS: Readonly<Record<string, Factory<Picker>>> = {
  'max-score': (_p, ctx) => new MaxScorePicker(ctx.random),
  random: (_p, ctx) => new RandomPicker(ctx.random),
  'weighted-random': (_p, ctx) => new WeightedRandomPicker(ctx.random),
  'power-of-two': (_p, ctx) => new PowerOfTwoPicker(ctx.random),
  'round-robin': () => new RoundRobinPicker(),
};

const TABLES = { filter: FILTERS, scorer: SCORERS, picker: PICKERS };
export type PluginKind = keyof typeof TABLES;
type PluginOf<K extends PluginKind> = K extends 'filter' ? Filter : K extends 'scorer' ? Scorer : Picker;

/** Names a config may use, per kind. */
export function pluginNames(kind: PluginKind): string[] {
  return Object.keys(TABLES[kind]);
}

/** A plugin name that is not registered. */
export class UnknownPluginError extends Error {
  constructor(kind: PluginKind, name: string) {
    super(`unknown ${kind} "${name}" (known: ${pluginNames(kind).join(', ')})`);
    this.name = 'UnknownPluginError';
  }
}

export function normalizeRef(ref: PluginRef): { name: string; weight: number; params: Record<string, unknown> } {
  return typeof ref === 'string' ? { name: ref, weight: 1, params: {} } : ref;
}

/** Builds one plugin; throws UnknownPluginError or ParamError (with the offending key). */
export function buildPlugin<K extends PluginKind>(kind: K, ref: PluginRef, ctx: PluginContext): PluginOf<K> {
  const { name, params } = normalizeRef(ref);
  const table = TABLES[kind] as Readonly<Record<string, Factory<PluginOf<K>>>>;
  if (!Object.hasOwn(table, name)) throw new UnknownPluginError(kind, name);
  const p = new Params(`${kind} "${name}"`, params);
  const plugin = table[name]!(p, ctx);
  p.done();
  return plugin;
}
