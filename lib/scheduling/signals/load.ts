// Load estimates built from scraped signals plus local in-flight counts. Scraped data
// older than the pool's `stale_after` is UNKNOWN: these helpers then fall back to what this
// process observes itself, and never read a stale number as "idle".
import type { BackendView } from '../types';
import type { Params } from '../params';

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
 */
export function isSaturated(b: BackendView, now: number, lim: SaturationLimits): boolean {
  if (lim.inflight > 0 && b.inflight >= lim.inflight) return true;
  const q = estimatedQueue(b, now);
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
