// One backend of a pool at run time: its connection pool, live counters and the state
// that decides whether it may take new requests. The scheduler sees it as a BackendView.
import { Pool as UndiciPool } from 'undici';
import type { Endpoint } from '../discovery/types';
import type { BackendSignals, BackendView } from '../scheduling/types';
import type { PoolConfig } from '../config/schema';

export type BackendState = 'healthy' | 'unhealthy' | 'ejected' | 'draining';

export class Backend implements BackendView {
  readonly id: string;
  endpoint: Endpoint;
  /** "host:port" sent as Host upstream. */
  readonly authority: string;
  readonly origin: string;
  readonly dispatcher: UndiciPool;
  inflight = 0;
  readonly signals: BackendSignals = { updatedAt: 0 };
  servesModels: ReadonlySet<string>;

  /** Active health check verdict (true until a check says otherwise). */
  healthy = true;
  /** Set by the admin API or when discovery dropped the endpoint. */
  draining = false;
  /** Set when discovery removed it: close once idle. */
  removed = false;
  /** 0 closed, 1 half-open, 2 open (switchyard_breaker_state). */
  breakerState = 0;
  /** Weight multiplier in (0,1] while slowly starting; 1 otherwise. */
  rampFactor = 1;
  private readonly staleAfter: number;

  constructor(endpoint: Endpoint, pool: PoolConfig) {
    this.id = endpoint.id;
    this.endpoint = endpoint;
    const url = new URL(endpoint.url);
    this.origin = url.origin;
    this.authority = url.host;
    this.servesModels = modelsOf(endpoint);
    this.staleAfter = pool.scrape.stale_after;
    const t = pool.timeouts;
    this.dispatcher = new UndiciPool(this.origin, {
      connect: { timeout: t.connect },
      // Per-request values are set on each dispatch; these are the pool's defaults.
      headersTimeout: t.first_byte,
      bodyTimeout: t.idle,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 600_000,
      pipelining: 1,
    });
  }

  get effectiveWeight(): number {
    return Math.max(this.endpoint.weight, 0) * this.rampFactor || Number.MIN_VALUE;
  }

  signalsFresh(now: number): boolean {
    return this.signals.updatedAt > 0 && now - this.signals.updatedAt <= this.staleAfter;
  }

  update(endpoint: Endpoint): void {
    this.endpoint = endpoint;
    this.servesModels = modelsOf(endpoint);
  }

  /** Whether it may take new requests, ignoring panic mode (the pool applies that). */
  get available(): boolean {
    return this.healthy && !this.draining;
  }

  get state(): BackendState {
    if (this.draining) return 'draining';
    if (!this.healthy) return 'unhealthy';
    return 'healthy';
  }

  /** Close connections: gracefully (in-flight requests finish) or at once. */
  async close(force = false): Promise<void> {
    if (force) await this.dispatcher.destroy().catch(() => undefined);
    else await this.dispatcher.close().catch(() => undefined);
  }
}

function modelsOf(endpoint: Endpoint): ReadonlySet<string> {
  const m = endpoint.meta.model;
  return new Set(m ? m.split(',').map((s) => s.trim()).filter(Boolean) : []);
}
