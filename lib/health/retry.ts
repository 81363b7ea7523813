// Retry policy pieces: which failures may be retried, how long to wait before the next
// try, and a pool-wide budget that keeps retries from multiplying an overload (Envoy's
// retry_budget). The caller owns the two rules that make a retry safe at all: never after
// the first byte went downstream, and only with a request body that can be replayed.
import type { RetriesConfig } from '../config/schema';
import type { UpstreamErrorKind } from '../errors';

export type RetryOn = RetriesConfig['on'][number];

const ON_FOR_KIND: Readonly<Partial<Record<UpstreamErrorKind, RetryOn>>> = {
  connect: 'connect-failure',
  reset: 'reset',
  timeout: 'timeout',
};

/**
 * Does `retries.on` allow retrying this outcome? A number is the response status; a kind is
 * a failure with no response. Protocol errors are never retried: the backend answered, and
 * garbage is not a transient condition.
 */
export function isRetryable(outcome: number | UpstreamErrorKind, on: readonly RetryOn[]): boolean {
  const key = typeof outcome === 'number' ? outcome : ON_FOR_KIND[outcome];
  return key !== undefined && on.includes(key);
}

/**
 * Milliseconds to wait before retry number `retry` (1 for the first retry): full jitter
 * over [0, min(backoff_max, backoff_base × 2^(retry−1))), as Envoy's jittered exponential
 * back-off (25 ms base, 250 ms cap by default). `random` returns [0, 1).
 */
export function backoffDelay(
  retry: number,
  cfg: Pick<RetriesConfig, 'backoff_base' | 'backoff_max'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(cfg.backoff_max, cfg.backoff_base * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Concurrent retries in a pool may not exceed max(budget_min, budget_percent % of the
 * pool's active requests): a failing pool gets a few retries, never a retry storm. Every
 * successful `tryAcquire` needs one `release` when that retry ends, however it ends.
 */
export class RetryBudget {
  private _active = 0;
  private readonly percent: number;
  private readonly min: number;

  constructor(cfg: Pick<RetriesConfig, 'budget_percent' | 'budget_min'>) {
    this.percent = cfg.budget_percent;
    this.min = cfg.budget_min;
  }

  /** Retries in flight. */
  get active(): number {
    return this._active;
  }

  /** How many retries may be in flight with `activeRequests` requests (retries included) in the pool. */
  limit(activeRequests: number): number {
    return Math.max(this.min, Math.floor((this.percent * activeRequests) / 100));
  }

  tryAcquire(activeRequests: number): boolean {
    if (this._active >= this.limit(activeRequests)) return false;
    this._active++;
    return true;
  }

  release(): void {
    if (this._active > 0) this._active--;
  }
}
