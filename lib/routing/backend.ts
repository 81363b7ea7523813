// One backend of a pool at run time: its connection pool, live counters and the state
// that decides whether it may take new requests. The scheduler sees it as a BackendView;
// the pool's health rules see it as a HealthView.
import type { Endpoint } from '../discovery/types';
import type { BackendSignals, BackendView } from '../scheduling/types';
import type { PoolConfig } from '../config/schema';
import { BREAKER_STATE_VALUE, Circuit, type CircuitOptions } from '../health/circuit';
import { SlowStart } from '../health/slow-start';
import type { HealthView } from '../health/ejection-policy';
import { ConnectionPool } from './connection-pool';

export type BackendState = 'healthy' | 'unhealthy' | 'ejected' | 'half-open' | 'draining';

export class Backend implements BackendView, HealthView {
  readonly id: string;
  endpoint: Endpoint;
  /** "host:port" sent as Host upstream. */
  readonly authority: string;
  readonly origin: string;
  readonly dispatcher: ConnectionPool;
  inflight = 0;
  readonly signals: BackendSignals = { updatedAt: 0 };
  servesModels: ReadonlySet<string>;
  readonly circuit: Circuit;

  /** Active health check verdict (true until a check says otherwise). */
  healthy = true;
  /** Set by the admin API or when discovery dropped the endpoint. */
  draining = false;
  /** Set when discovery removed it: close once idle. */
  removed = false;
  private readonly slowStart: SlowStart;
  /** Clock ms until which the slow-start ramp applies; 0 when not ramping (the common case). */
  private rampUntil = 0;
  private readonly staleAfter: number;

  constructor(endpoint: Endpoint, pool: PoolConfig, circuit: CircuitOptions) {
    this.id = endpoint.id;
    this.endpoint = endpoint;
    const url = new URL(endpoint.url);
    this.origin = url.origin;
    this.authority = url.host;
    this.servesModels = modelsOf(endpoint);
    this.staleAfter = pool.scrape.stale_after;
    this.slowStart = new SlowStart(pool.slow_start);
    this.circuit = new Circuit(pool.outlier, pool.breaker, circuit);
    const t = pool.timeouts;
    this.dispatcher = new ConnectionPool(this.origin, {
      connect: { timeout: t.connect },
      // Per-request values are set on each dispatch; these are the pool's defaults.
      headersTimeout: t.first_byte,
      bodyTimeout: t.idle,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 600_000,
    });
  }

  /** Weight × the slow-start ramp. Never 0, so weighted pickers can divide by it. */
  get effectiveWeight(): number {
    const w = Math.max(this.endpoint.weight, Number.MIN_VALUE);
    if (this.rampUntil === 0) return w;
    const now = Date.now();
    if (now >= this.rampUntil) {
      this.rampUntil = 0;
      return w;
    }
    return w * this.slowStart.factor(now);
  }

  /** Begin the slow-start ramp (joined a running pool, or back from ejection or failure). */
  beginRamp(): void {
    const now = Date.now();
    this.slowStart.begin(now);
    this.rampUntil = this.slowStart.endsAt > now ? this.slowStart.endsAt : 0;
  }

  signalsFresh(now: number): boolean {
    return this.signals.updatedAt > 0 && now - this.signals.updatedAt <= this.staleAfter;
  }

  update(endpoint: Endpoint): void {
    this.endpoint = endpoint;
    this.servesModels = modelsOf(endpoint);
  }

  /** HealthView: taken out by outlier detection (open, or half-open with no probe slot free). */
  get ejected(): boolean {
    return !this.circuit.routable;
  }

  get breakerState(): number {
    return BREAKER_STATE_VALUE[this.circuit.state];
  }

  /** May take new requests outside panic mode. */
  get available(): boolean {
    return this.healthy && !this.draining && !this.ejected;
  }

  get state(): BackendState {
    if (this.draining) return 'draining';
    if (this.circuit.state === 'open') return 'ejected';
    if (this.circuit.state === 'half-open') return 'half-open';
    if (!this.healthy) return 'unhealthy';
    return 'healthy';
  }

  /** Close connections: gracefully (in-flight requests finish) or at once. */
  async close(force = false): Promise<void> {
    this.circuit.dispose();
    if (force) await this.dispatcher.destroy().catch(() => undefined);
    else await this.dispatcher.close().catch(() => undefined);
  }
}

function modelsOf(endpoint: Endpoint): ReadonlySet<string> {
  const m = endpoint.meta.model;
  return new Set(m ? m.split(',').map((s) => s.trim()).filter(Boolean) : []);
}
