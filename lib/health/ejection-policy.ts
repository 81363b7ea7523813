// Pool-level rules over the per-backend verdicts: how many backends outlier detection may
// take out, and what the pool balances over when too few are left (panic mode).
//
// Both run on rare events (an ejection attempt, a rebuild of the available list), so they
// walk the backends rather than keep counters that could drift.

/** What the pool knows of one backend. */
export interface HealthView {
  /** The active health check's verdict (true while checks are off). */
  readonly healthy: boolean;
  /** Taken out by outlier detection: its circuit is not closed. */
  readonly ejected: boolean;
  /** Leaving: removed from discovery or drained by the admin. */
  readonly draining: boolean;
}

/**
 * May outlier detection eject `candidate` now? Draining backends do not count. The rule:
 * - `maxEjectionPercent` 0 disables ejection;
 * - otherwise up to max(1, ⌊n × maxEjectionPercent / 100⌋) of the n backends may be ejected
 *   at once: like Envoy, a small pool may still lose one host to ejection even when the
 *   percentage rounds down to 0;
 * - unlike Envoy, never the last available backend: at least one other backend must stay
 *   healthy and not ejected, or the ejection is refused. (Envoy would eject it and rely on
 *   panic mode; here a failing backend that is the only one left keeps its traffic.)
 */
export function mayEject<T extends HealthView>(backends: Iterable<T>, candidate: T, maxEjectionPercent: number): boolean {
  if (maxEjectionPercent <= 0 || candidate.ejected || candidate.draining) return false;
  let total = 0;
  let ejected = 0;
  let availableOthers = 0;
  for (const b of backends) {
    if (b.draining) continue;
    total++;
    if (b.ejected) ejected++;
    else if (b !== candidate && b.healthy) availableOthers++;
  }
  const allowed = Math.max(1, Math.floor((total * maxEjectionPercent) / 100));
  return ejected < allowed && availableOthers > 0;
}

/**
 * The backends to balance over. Normally the available ones (healthy, not ejected, not
 * draining). When they are fewer than `panicThreshold` percent of the non-draining
 * backends, the pool is in panic (Envoy's panic_threshold) and spreads over every
 * non-draining backend rather than overload the few. Exactly at the threshold is not panic;
 * a threshold of 0 disables panic, so no available backend then means an empty list (503).
 */
export function selectAvailable<T extends HealthView>(
  backends: Iterable<T>,
  panicThreshold: number,
): { list: T[]; panic: boolean } {
  const available: T[] = [];
  const serving: T[] = [];
  for (const b of backends) {
    if (b.draining) continue;
    serving.push(b);
    if (b.healthy && !b.ejected) available.push(b);
  }
  const panic = available.length * 100 < panicThreshold * serving.length;
  return panic ? { list: serving, panic } : { list: available, panic };
}
