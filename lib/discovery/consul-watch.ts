// One blocking-query loop, following Consul's rules (website/content/api-docs/features/
// blocking.mdx) and its reference client (api/watch/plan.go):
//   - the index comes from the last answer; an index that goes backwards resets it to 0,
//     which makes the next request a non-blocking full resync;
//   - after that the index is never below 1, so every later request really blocks;
//   - re-queries go through a token bucket (burst `burst`, one token per `minInterval`), so
//     a churning result degrades into polling instead of a busy loop, while quiet periods
//     still get every change at once;
//   - errors back off like plan.go (base·failures², capped), with jitter so a fleet of
//     proxies does not return to a recovered agent in lockstep; the last result stays.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlockingOptions, Indexed } from './consul-client';

export interface WatchTiming {
  /** Blocking `wait` sent to Consul. */
  waitMs: number;
  minIntervalMs: number;
  burst: number;
  /** Error backoff: retryBaseMs·failures², at most retryMaxMs (plan.go: 5 s, 180 s). */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const PLAN_GO_RETRY = { retryBaseMs: 5_000, retryMaxMs: 180_000 } as const;

/** plan.go's backoff, spread by ±20 %. */
export function retryDelay(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const delay = Math.min(baseMs * failures * failures, maxMs);
  return Math.round(delay * (0.8 + 0.4 * random()));
}

/**
 * Calls `attempt` until it succeeds, backing off like a watch between failures. Resolves to
 * its result, or to undefined once `signal` aborts.
 */
export async function retryUntilDone<T>(
  attempt: () => Promise<T>,
  retry: Pick<WatchTiming, 'retryBaseMs' | 'retryMaxMs'>,
  signal: AbortSignal,
  onFail: (error: Error, retryMs: number) => void,
): Promise<T | undefined> {
  for (let failures = 1; !signal.aborted; failures++) {
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted) break;
      const delay = retryDelay(failures, retry.retryBaseMs, retry.retryMaxMs);
      onFail(err as Error, delay);
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }
  return undefined;
}

/** Token bucket: `burst` requests at once, then one per `intervalMs`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes a token; returns how long to wait before using it (0 when one was available). */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) / this.intervalMs);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens * this.intervalMs);
  }
}

export type BlockingFetch<T> = (q: BlockingOptions) => Promise<Indexed<T>>;

export interface BlockingWatchEvents<T> {
  /** A new index (or a reset) with its body; the body may equal the last one (no guarantee of a change). */
  change: [body: T, index: number];
  /** A failed request and the delay before the next one. */
  fail: [error: Error, retryMs: number];
}

export class BlockingWatch<T> extends EventEmitter<BlockingWatchEvents<T>> {
  /** The index the next request carries. */
  index = 0;
  /** Consecutive failures. */
  failures = 0;
  lastError?: string;
  lastSuccess?: number;
  requests = 0;
  private answered = false;
  private readonly bucket: TokenBucket;
  private readonly abort = new AbortController();
  private running?: Promise<void>;

  constructor(
    private readonly fetch: BlockingFetch<T>,
    private readonly timing: WatchTiming,
  ) {
    super();
    this.bucket = new TokenBucket(timing.burst, timing.minIntervalMs);
  }

  get ok(): boolean {
    return this.failures === 0;
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => {
      if (!this.abort.signal.aborted) throw err;
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const wait = this.bucket.take();
      if (wait > 0) await sleep(wait, undefined, { signal });
      try {
        this.requests++;
        this.accept(await this.fetch({ index: this.index, waitMs: this.timing.waitMs, signal }));
      } catch (err) {
        if (signal.aborted) return;
        this.failures++;
        this.lastError = (err as Error).message;
        const retry = retryDelay(this.failures, this.timing.retryBaseMs, this.timing.retryMaxMs);
        this.emit('fail', err as Error, retry);
        await sleep(retry, undefined, { signal });
      }
    }
  }

  /**
   * Applies one answer. The index moves only once the listeners took the body, so a body
   * they cannot use counts as a failed request: it is fetched again after the backoff.
   */
  private accept(answer: Indexed<T>): void {
    if (this.abort.signal.aborted) return;
    const reset = answer.index < this.index;
    // An equal index is a timeout or a wake-up that changed nothing: no event (plan.go).
    if (!this.answered || reset || answer.index !== this.index) this.emit('change', answer.body, answer.index);
    this.answered = true;
    this.index = reset ? 0 : Math.max(answer.index, 1);
    this.failures = 0;
    this.lastError = undefined;
    this.lastSuccess = Date.now();
  }
}
