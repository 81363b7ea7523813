// Per-backend circuit: passive outlier detection (Envoy's consecutive-failure detectors)
// feeding a breaker with a half-open state.
//
//   closed ──threshold reached, pool agrees──▶ open ──ejection time over──▶ half-open
//     ▲                                         ▲                             │
//     └──────────── a probe succeeds ───────────┼──────── a probe fails ──────┘
//
// Counting follows Envoy's outlier detector (non-split mode): every 5xx response and every
// local-origin failure counts toward consecutive_5xx; 502/503/504 and local-origin failures
// toward consecutive_gateway_failure; connect failures, resets and timeouts alone toward
// consecutive_local_origin_failure. A 5xx that is not a gateway error resets the gateway
// count, any response resets the local-origin count, and a success resets all three.
//
// Ejection time is base_ejection_time × n, capped at max_ejection_time, where n counts
// ejections and drops by one per base_ejection_time spent closed (Envoy's multiplier,
// evaluated at the next ejection instead of on a sweep timer).
//
// Every per-request call is O(1) and allocation-free; the clock is read only on transitions.
import type { BreakerConfig, OutlierConfig } from '../config/schema';
import type { UpstreamErrorKind } from '../errors';
import { type Clock, type Timers, monotonicClock, nodeTimers } from './timers';

/** What a failed try says about the backend; see `classifyOutcome`. */
export type FailureKind = 'server' | 'gateway' | 'local';

export type CircuitState = 'closed' | 'half-open' | 'open';

/** The value of `switchyard_breaker_state`. */
export const BREAKER_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The answer of `allowRequest`, to hand back with the outcome: `pass` while closed,
 * `probe` for one of the half-open trial requests, `deny` when nothing may be sent.
 */
export type Admission = 'pass' | 'probe' | 'deny';

/**
 * Map the outcome of a try to a failure kind; undefined means it counts as a success.
 * Statuses below 500 are the backend answering (429 included). 501 and 505 mean "not for
 * this request" and count as valid, as in HAProxy's observe layer7. A protocol error is
 * the backend answering badly, so it counts like a 502.
 */
export function classifyOutcome(outcome: number | UpstreamErrorKind): FailureKind | undefined {
  if (typeof outcome === 'number') {
    if (outcome < 500 || outcome === 501 || outcome === 505) return undefined;
    return outcome === 502 || outcome === 503 || outcome === 504 ? 'gateway' : 'server';
  }
  switch (outcome) {
    case 'connect':
    case 'reset':
    case 'timeout':
      return 'local';
    case 'protocol':
      return 'gateway';
    case 'status_5xx':
      return 'server';
  }
}

export interface CircuitOptions {
  /**
   * Asked each time a threshold is reached; returning false keeps the backend in service
   * (max_ejection_percent reached, or it is the last available backend). The counters
   * restart either way, so the next attempt needs a fresh run of failures (as in Envoy).
   */
  canEject?: () => boolean;
  /**
   * Called after `state` or `routable` changed (metrics, the pool's available list). The
   * state only becomes `closed` through a successful probe: that call marks a recovery
   * (the moment to begin slow start).
   */
  onChange?: (state: CircuitState, routable: boolean) => void;
  now?: Clock;
  timers?: Timers;
}

export class Circuit {
  private _state: CircuitState = 'closed';
  private consecutive5xx = 0;
  private consecutiveGateway = 0;
  private consecutiveLocal = 0;
  /** Ejections that still weigh on the next ejection time (Envoy's multiplier). */
  private multiplier = 0;
  private readonly maxMultiplier: number;
  private closedAt: number;
  private probes = 0;
  private timer: unknown;
  private _ejectedUntil = 0;
  private readonly outlier: OutlierConfig;
  private readonly maxProbes: number;
  private readonly canEject: () => boolean;
  private readonly onChange?: (state: CircuitState, routable: boolean) => void;
  private readonly now: Clock;
  private readonly timers: Timers;

  constructor(outlier: OutlierConfig, breaker: Pick<BreakerConfig, 'half_open_probes'>, opts: CircuitOptions = {}) {
    this.outlier = outlier;
    this.maxProbes = breaker.half_open_probes;
    this.canEject = opts.canEject ?? (() => true);
    this.onChange = opts.onChange;
    this.now = opts.now ?? monotonicClock;
    this.timers = opts.timers ?? nodeTimers;
    // Past the cap the multiplier would only lengthen the decay, not the ejection.
    const base = outlier.base_ejection_time;
    this.maxMultiplier = base > 0 ? Math.max(1, Math.ceil(outlier.max_ejection_time / base)) : 1;
    this.closedAt = this.now();
  }

  get state(): CircuitState {
    return this._state;
  }

  /** Whether the pool may pick this backend now: closed, or half-open with a free probe slot. */
  get routable(): boolean {
    return this._state === 'closed' || (this._state === 'half-open' && this.probes < this.maxProbes);
  }

  /** Clock time at which the current ejection ends; 0 unless open. */
  get ejectedUntil(): number {
    return this._state === 'open' ? this._ejectedUntil : 0;
  }

  /**
   * Ask before sending a request. In half-open state this takes a probe slot, which the
   * outcome (`onSuccess`, `onFailure` or `onCancel`) gives back. Pass the result to them.
   */
  allowRequest(): Admission {
    if (this._state === 'closed') return 'pass';
    if (this._state === 'open' || this.probes >= this.maxProbes) return 'deny';
    if (++this.probes === this.maxProbes) this.emit();
    return 'probe';
  }

  /** The try got a response that `classifyOutcome` calls a success. */
  onSuccess(admission: Admission): void {
    if (this._state === 'closed') this.resetCounters();
    else if (this._state === 'half-open' && admission === 'probe') this.close();
    // Otherwise a request admitted before the ejection finished: it proves nothing now.
  }

  /** The try failed (before or after the first byte). */
  onFailure(kind: FailureKind, admission: Admission): void {
    if (this._state === 'half-open') {
      if (admission === 'probe') this.eject();
      return;
    }
    if (this._state === 'open' || !this.outlier.enabled) return;
    const o = this.outlier;
    let tripped = false;
    if (kind === 'local') tripped = ++this.consecutiveLocal >= o.consecutive_local_origin_failure;
    else this.consecutiveLocal = 0;
    if (kind === 'server') this.consecutiveGateway = 0;
    else if (++this.consecutiveGateway >= o.consecutive_gateway_failure) tripped = true;
    if (++this.consecutive5xx >= o.consecutive_5xx) tripped = true;
    if (!tripped) return;
    this.resetCounters();
    if (this.canEject()) this.eject();
  }

  /** The request ended without a verdict (client went away): give the probe slot back. */
  onCancel(admission: Admission): void {
    if (admission !== 'probe' || this._state !== 'half-open' || this.probes === 0) return;
    if (this.probes-- === this.maxProbes) this.emit();
  }

  /**
   * An active health check passed. An open circuit moves to half-open at once: the process
   * is up, so let a real request confirm it (Envoy un-ejects outright; a model that fails
   * while /health answers would then flap).
   */
  healthCheckPassed(): void {
    if (this._state !== 'open') return;
    this.timers.clearTimeout(this.timer);
    this.halfOpen();
  }

  /** Stop the ejection timer; call when the backend leaves the pool. */
  dispose(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private eject(): void {
    const now = this.now();
    const base = this.outlier.base_ejection_time;
    if (this._state === 'closed') {
      const healthyPeriods = base > 0 ? Math.floor((now - this.closedAt) / base) : this.multiplier;
      this.multiplier = Math.max(0, this.multiplier - healthyPeriods);
    }
    this.multiplier = Math.min(this.multiplier + 1, this.maxMultiplier);
    const ms = Math.min(base * this.multiplier, this.outlier.max_ejection_time);
    this._state = 'open';
    this.probes = 0;
    this._ejectedUntil = now + ms;
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.halfOpen(), ms);
    this.emit();
  }

  private halfOpen(): void {
    this.timer = undefined;
    this._state = 'half-open';
    this.probes = 0;
    this.emit();
  }

  private close(): void {
    this._state = 'closed';
    this.closedAt = this.now();
    this.probes = 0;
    this.resetCounters();
    this.emit();
  }

  private resetCounters(): void {
    this.consecutive5xx = 0;
    this.consecutiveGateway = 0;
    this.consecutiveLocal = 0;
  }

  private emit(): void {
    this.onChange?.(this._state, this.routable);
  }
}
