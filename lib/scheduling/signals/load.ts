// Load estimates built from scraped signals plus local in-flight counts. Scraped data
// older than the pool's `stale_after` is UNKNOWN: these helpers then fall back to what this
// process observes itself, and never read a stale number as "idle".
import type { BackendView } from '../types';
import type { Params } from '../params';
import { grow } from '../slots';

/**
 * Engine queue now: scraped `waiting` plus the requests this process sent since the scrape
 * (in-flight now − in-flight at scrape), clamped ≥ 0. Undefined when signals are stale or
 * the engine does not export a queue length.
 */
export function estimatedQueue(b: BackendView, now: number): number | undefined {
  const s = b.signals;
  if (s.waiting === undefined || !b.signalsFresh(now)) return undefined;
  const delta = b.inflight - (s.inflightAtScrape ?? b.inflight);
  return Math.max(0, s.waiting + delta);
}

/** KV-cache usage in [0,1], or undefined when stale or not exported. */
export function freshKvUsage(b: BackendView, now: number): number | undefined {
  return b.signalsFresh(now) ? b.signals.kvUsage : undefined;
}

export type QueueView = 'estimated' | 'scraped' | 'none';

export interface SaturationLimits {
  /** Estimated engine queue at or above which a backend is saturated (GIE's default: 5). */
  queue: number;
  /** KV-cache usage at or above which a backend is saturated (GIE's default: 0.8). */
  kv: number;
  /** Local in-flight requests at or above which a backend is saturated; 0 = no limit. */
  inflight: number;
}

/**
 * The "roofline" test shared by affinity plugins and the model-loaded filter: a backend is
 * saturated when its queue or KV usage reaches a threshold, or when this process alone has
 * `breaker.max_requests_per_backend` requests on it. With stale signals only the last test
 * applies (unknown is not saturated: affinity should not break on a missed scrape).
 * `queue`: which queue the test reads: `estimated` (estimatedQueue(): scraped waiting plus
 * the requests sent since the scrape), `scraped` (the engine's waiting alone, for decisions
 * that must not read a burst being dispatched as a queue), or `none` (no queue test).
 */
export function isSaturated(b: BackendView, now: number, lim: SaturationLimits, queue: QueueView = 'estimated'): boolean {
  if (lim.inflight > 0 && b.inflight >= lim.inflight) return true;
  const q = queue === 'estimated' ? estimatedQueue(b, now) : queue === 'scraped' && b.signalsFresh(now) ? b.signals.waiting : undefined;
  if (q !== undefined && q >= lim.queue) return true;
  const kv = freshKvUsage(b, now);
  return kv !== undefined && kv >= lim.kv;
}

/** Reads `queue_threshold` and `kv_threshold`; the in-flight cap comes from the pool's breaker. */
export function readSaturationLimits(p: Params, maxInflight: number): SaturationLimits {
  return {
    queue: p.number('queue_threshold', 5, { min: 0 }),
    kv: p.number('kv_threshold', 0.8, { min: 0, max: 1 }),
    inflight: maxInflight,
  };
}

/** Inter-token latency in seconds, or undefined when stale or never measured. */
export function freshItl(b: BackendView, now: number): number | undefined {
  return b.signalsFresh(now) ? b.signals.itl : undefined;
}

/**
 * The saturation test of the affinity scorers, for one scheduling cycle at a time:
 * isSaturated(), or slow. A backend is slow when its fresh inter-token latency exceeds
 * `slowFactor` × the lower median of the fresh ITLs of the cycle's candidates. A slowed
 * engine admits everything into its batch, so its queue and KV use stay low and only its
 * pace tells: moving a session off it costs one re-prefill, staying costs every later
 * answer's decode time.
 * - The reference is the candidates' (after the filters: one model, comparable engines),
 *   computed once per cycle, on the first test that needs it (O(n) quickselect).
 * - Unknown ITL (stale signals, never measured, engine without the histogram) is never
 *   slow, and is left out of the median. Fewer than two known ITLs: nobody is slow (no
 *   reference). The lower median (the smaller middle value when the count is even) lets
 *   one slow backend of two stand out.
 * - slowFactor 0 turns the slowness test off.
 */
export class SaturationTest {
  private candidates: readonly BackendView[] = [];
  private now = 0;
  /** slowFactor × the reference ITL; NaN = not computed yet this cycle. */
  private threshold = NaN;
  private scratch = new Float64Array(64);

  constructor(
    readonly limits: SaturationLimits,
    readonly slowFactor: number,
  ) {}

  /** Starts a cycle: the tests below judge backends among `candidates`, at `now`. */
  begin(candidates: readonly BackendView[], now: number): void {
    this.candidates = candidates;
    this.now = now;
    this.threshold = NaN;
  }

  /** `queue`: which queue to judge (see isSaturated). */
  saturated(b: BackendView, queue: QueueView = 'estimated'): boolean {
    return isSaturated(b, this.now, this.limits, queue) || this.slow(b);
  }

  slow(b: BackendView): boolean {
    if (this.slowFactor === 0) return false;
    const itl = freshItl(b, this.now);
    if (itl === undefined) return false;
    if (Number.isNaN(this.threshold)) this.threshold = this.slowFactor * this.referenceItl();
    return itl > this.threshold;
  }

  /** Lower median of the candidates' fresh ITLs; Infinity with fewer than two, or a median ≤ 0. */
  private referenceItl(): number {
    const a = (this.scratch = grow(this.scratch, this.candidates.length));
    let n = 0;
    for (const c of this.candidates) {
      const v = freshItl(c, this.now);
      if (v !== undefined && Number.isFinite(v)) a[n++] = v;
    }
    if (n < 2) return Infinity;
    const m = select(a, n, (n - 1) >> 1);
    return m > 0 ? m : Infinity;
  }
}

/** The k-th smallest of a[0, n) (0-based), reordering a; Hoare quickselect. */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i++] = a[j]!;
        a[j--] = x;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Reads `slow_factor` (default 2; 0 = no slowness test, else at least 1). */
export function readSlowFactor(p: Params): number {
  return p.number('slow_factor', 2, { min: 1, zeroOff: true });
}
