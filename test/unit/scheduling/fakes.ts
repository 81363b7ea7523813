// Test doubles for the scheduling framework: BackendView fakes with settable load and
// signals, requests, pool configs, a seeded random source and a scorer runner.
import { poolSchema, type PoolConfig } from '../../../lib/config/schema';
import type { BackendSignals, BackendView, Picker, Scorer, SchedulingRequest } from '../../../lib/scheduling/types';

/** The wall clock every fake is judged against. */
export const NOW = 1_000_000;
export const STALE_AFTER = 3000;

export interface FakeInit {
  id?: string;
  inflight?: number;
  weight?: number;
  running?: number;
  waiting?: number;
  kvUsage?: number;
  gpuUtil?: number;
  inflightAtScrape?: number;
  /** Inter-token latency, seconds. */
  itl?: number;
  loadedModels?: string[];
  /** Discovery Meta `model`. */
  serves?: string[];
  /** Signals last scraped long ago. */
  stale?: boolean;
  /** Never scraped at all (updatedAt 0). */
  unscraped?: boolean;
}

export class FakeBackend implements BackendView {
  readonly endpoint;
  inflight: number;
  effectiveWeight: number;
  signals: BackendSignals;
  servesModels: ReadonlySet<string>;

  constructor(
    readonly id: string,
    init: FakeInit = {},
  ) {
    this.endpoint = { id, url: `http://127.0.0.1:1/${id}`, weight: init.weight ?? 1, meta: {} };
    this.inflight = init.inflight ?? 0;
    this.effectiveWeight = init.weight ?? 1;
    this.servesModels = new Set(init.serves ?? []);
    this.signals = {
      updatedAt: init.unscraped ? 0 : init.stale ? NOW - 10 * STALE_AFTER : NOW,
      running: init.running,
      waiting: init.waiting,
      kvUsage: init.kvUsage,
      gpuUtil: init.gpuUtil,
      inflightAtScrape: init.inflightAtScrape,
      itl: init.itl,
      loadedModels: init.loadedModels && new Set(init.loadedModels),
    };
  }

  signalsFresh(now: number): boolean {
    return this.signals.updatedAt > 0 && now - this.signals.updatedAt < STALE_AFTER;
  }
}

export function fake(id: string, init: FakeInit = {}): FakeBackend {
  return new FakeBackend(id, init);
}

/** Backends b0 … b(n-1). */
export function fleet(n: number, init: (i: number) => FakeInit = () => ({})): FakeBackend[] {
  return Array.from({ length: n }, (_, i) => new FakeBackend(`b${i}`, init(i)));
}

let nextId = 0;
export function request(init: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return { requestId: `r${++nextId}`, priority: 'standard', ...init };
}

/** A validated pool config with defaults, plus the keys given. */
export function pool(raw: Record<string, unknown> = {}): PoolConfig {
  return poolSchema.parse({ backends: ['http://127.0.0.1:1'], ...raw });
}

/** Deterministic uniform [0,1) source (mulberry32). */
export function seeded(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs a scorer once and returns its scores as a plain array. */
export function scoresOf(scorer: Scorer, req: SchedulingRequest, candidates: readonly BackendView[], now = NOW): number[] {
  const out = new Float64Array(candidates.length + 3).fill(NaN); // longer and dirty, as the scheduler's buffer may be
  scorer.score(req, candidates, out, new Map(), now);
  return Array.from(out.subarray(0, candidates.length));
}

export const ids = (bs: readonly BackendView[]): string[] => bs.map((b) => b.id);

/** How many of `n` picks each backend gets, for fixed totals. */
export function tallyPicks(p: Picker, bs: readonly BackendView[], totals: number[], n: number): Record<string, number> {
  const count: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = p.pick(request(), bs, Float64Array.from(totals), new Map())!.id;
    count[id] = (count[id] ?? 0) + 1;
  }
  return count;
}
