// A pool at run time: the backends that discovery reports, the state that says which of
// them may take requests, and the scheduler that picks one per request.
//
// The list of available backends is rebuilt whenever something changes (discovery, health,
// drain), never per request; a request reads `available` once and schedules over it.
import type { Logger } from 'pino';
import type { PoolConfig } from '../config/schema';
import type { DiscoverySource, Endpoint, EndpointSink } from '../discovery/types';
import type { Scheduler, SchedulingRequest } from '../scheduling/types';
import { Backend } from './backend';

export type SchedulerFactory = (poolName: string, pool: PoolConfig) => Scheduler;

export interface PoolDeps {
  source: DiscoverySource;
  scheduler: Scheduler;
  logger: Logger;
  /** Called after the backend set or any availability changed (metrics, status). */
  onChange?: (pool: PoolRuntime) => void;
}

export class PoolRuntime implements EndpointSink {
  readonly name: string;
  readonly config: PoolConfig;
  /** Its definition as JSON: a reload keeps the pool when this is unchanged. */
  readonly key: string;
  readonly backends = new Map<string, Backend>();
  /** Backends that may take new requests now. Replaced whole, never mutated. */
  available: readonly Backend[] = [];
  inflight = 0;
  readonly scheduler: Scheduler;
  private readonly source: DiscoverySource;
  private readonly logger: Logger;
  private readonly onChange?: (pool: PoolRuntime) => void;
  private closed = false;
  /** Resolves on the first delivery from discovery (a reload waits for it before swapping). */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(name: string, config: PoolConfig, key: string, deps: PoolDeps) {
    this.name = name;
    this.config = config;
    this.key = key;
    this.ready = new Promise((r) => (this.markReady = r));
    this.scheduler = deps.scheduler;
    this.source = deps.source;
    this.logger = deps.logger.child({ pool: name });
    this.onChange = deps.onChange;
  }

  start(): void {
    this.source.start(this);
  }

  /** EndpointSink: the whole current set from discovery. */
  replace(endpoints: readonly Endpoint[]): void {
    if (this.closed) return;
    const seen = new Set<string>();
    for (const ep of endpoints) {
      seen.add(ep.id);
      const existing = this.backends.get(ep.id);
      if (existing && !existing.removed) {
        existing.update(ep);
        continue;
      }
      if (existing) {
        // It came back while still draining its old streams: reuse its connections.
        existing.removed = false;
        existing.draining = false;
        existing.update(ep);
        continue;
      }
      this.backends.set(ep.id, new Backend(ep, this.config));
      this.logger.info({ backend: ep.id, url: ep.url }, 'backend added');
    }
    for (const b of this.backends.values()) {
      if (!seen.has(b.id) && !b.removed) {
        // Vanished from discovery: no new requests; running streams finish, then close.
        b.removed = true;
        b.draining = true;
        this.logger.info({ backend: b.id }, 'backend removed from discovery; draining');
        this.reapIfIdle(b);
      }
    }
    this.rebuild();
    this.markReady();
  }

  /** Recompute `available` after any state change. */
  rebuild(): void {
    const list: Backend[] = [];
    for (const b of this.backends.values()) if (b.available) list.push(b);
    this.available = list;
    this.onChange?.(this);
  }

  pick(req: SchedulingRequest, explain: boolean) {
    return this.scheduler.schedule(req, this.available, explain);
  }

  acquire(b: Backend): void {
    b.inflight++;
    this.inflight++;
  }

  release(b: Backend): void {
    b.inflight--;
    this.inflight--;
    if (b.removed) this.reapIfIdle(b);
  }

  setDrain(id: string, draining: boolean): boolean {
    const b = this.backends.get(id);
    if (!b || b.removed) return false;
    b.draining = draining;
    this.rebuild();
    return true;
  }

  private reapIfIdle(b: Backend): void {
    if (b.inflight > 0 || !b.removed) return;
    this.backends.delete(b.id);
    this.scheduler.removeBackend?.(b.id);
    void b.close();
  }

  /** Stop discovery and close connections once in-flight requests finish (or at once). */
  async close(force = false): Promise<void> {
    this.closed = true;
    await this.source.stop();
    await Promise.all([...this.backends.values()].map((b) => b.close(force)));
  }

  status() {
    return {
      strategy: this.config.strategy,
      scheduler: this.scheduler.profile,
      inflight: this.inflight,
      discovery: this.source.status(),
      backends: [...this.backends.values()].map((b) => ({
        id: b.id,
        url: b.endpoint.url,
        state: b.state,
        healthy: b.healthy,
        draining: b.draining,
        inflight: b.inflight,
        weight: b.endpoint.weight,
        effective_weight: b.effectiveWeight,
        meta: b.endpoint.meta,
      })),
    };
  }
}
