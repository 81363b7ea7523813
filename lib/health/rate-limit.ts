// Per-key rate limits for a route: a token bucket for requests per minute and one for
// (LLM) tokens per minute, both refilled continuously, each holding up to one minute's
// allowance as burst (the shape of Envoy's local rate limit, per key).
//
// Memory is bounded: at most `maxKeys` keys are kept, least recently used evicted first.
// An evicted key comes back with full buckets, which is what it would have had anyway
// once idle for a minute; only a key flood can make a busy key forget its debt.
import type { RouteConfig } from '../config/schema';
import { type Clock, monotonicClock } from './timers';

export type RateLimitConfig = Pick<NonNullable<RouteConfig['rate_limit']>, 'requests_per_minute' | 'tokens_per_minute'>;

export type TakeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly limit: 'requests' | 'tokens'; /** Whole seconds, ≥ 1. */ readonly retryAfter: number };

interface Bucket {
  requests: number;
  tokens: number;
  at: number;
}

const OK: TakeResult = Object.freeze({ ok: true });
const MINUTE = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** Allowance per minute; 0 = unlimited (the schema's minimum is 1). */
  private readonly rpm: number;
  private readonly tpm: number;
  private readonly maxKeys: number;
  private readonly now: Clock;

  /** An absent limit is unlimited. `maxKeys` defaults to 100 000 (a few MB). */
  constructor(cfg: RateLimitConfig, opts: { maxKeys?: number; now?: Clock } = {}) {
    this.rpm = cfg.requests_per_minute ?? 0;
    this.tpm = cfg.tokens_per_minute ?? 0;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.now = opts.now ?? monotonicClock;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Take one request and `tokens` tokens (an estimate: prompt plus max_tokens, say) for
   * `key`, all or nothing. A request asking for more tokens than a minute's allowance is
   * admitted only when the bucket is full, and leaves it in debt.
   */
  take(key: string, tokens = 0): TakeResult {
    const b = this.bucket(key);
    // Milliseconds until each bucket holds what this request needs; ≤ 0 when it does now.
    const requestWait = this.rpm ? ((1 - b.requests) * MINUTE) / this.rpm : 0;
    const tokenWait = this.tpm ? ((Math.min(tokens, this.tpm) - b.tokens) * MINUTE) / this.tpm : 0;
    if (requestWait > 0 || tokenWait > 0) {
      const tokensLonger = tokenWait > requestWait;
      const ms = tokensLonger ? tokenWait : requestWait;
      return { ok: false, limit: tokensLonger ? 'tokens' : 'requests', retryAfter: Math.max(1, Math.ceil(ms / 1000)) };
    }
    b.requests -= 1;
    b.tokens -= tokens;
    return OK;
  }

  /**
   * Settle tokens learned after the fact (the usage of a finished response) against `key`:
   * positive charges more, negative refunds an overestimate. The bucket may go into debt.
   */
  charge(key: string, tokens: number): void {
    if (!this.tpm) return;
    const b = this.bucket(key);
    b.tokens = Math.min(this.tpm, b.tokens - tokens);
  }

  /** The key's bucket, refilled up to now and marked most recently used. */
  private bucket(key: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      const minutes = (now - b.at) / MINUTE;
      b.requests = Math.min(this.rpm, b.requests + minutes * this.rpm);
      b.tokens = Math.min(this.tpm, b.tokens + minutes * this.tpm);
      b.at = now;
    } else {
      b = { requests: this.rpm, tokens: this.tpm, at: now };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    return b;
  }
}
