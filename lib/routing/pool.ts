// A pool at run time: the backends that discovery reports, the state that says which of
// them may take requests, and the scheduler that picks one per request.
//
// The list of available backends is rebuilt whenever something changes (discovery, a
// health verdict, an ejection, a drain), never per request; a request reads `available`
// once and schedules over it. Health rules (lib/health) decide; this file wires them:
// active checks and passive outlier detection feed each backend's circuit, the ejection
// policy caps how many may be out, panic mode spreads over all when too few are left,
// slow start ramps returning backends, and a bounded priority queue holds requests while
// every backend is at its concurrency limit.
import type { Logger } from 'pino';
import type { PoolConfig, Priority } from '../config/schema';
import type { DiscoverySource, Endpoint, EndpointSink } from '../discovery/types';
import type { Decision, Scheduler, SchedulingRequest } from '../scheduling/types';
import { RemoteSignalScraper } from '../scheduling/signals/remote-scraper';
import type { HealthChecker } from '../health/active-checker';
import { RemoteHealthChecker } from '../health/remote-checker';
import { classifyOutcome, type Admission } from '../health/circuit';
import { mayEject, selectAvailable } from '../health/ejection-policy';
import { AdmissionQueue, type ShedReason } from '../health/admission-queue';
import { RetryBudget } from '../health/retry';
import { CircuitOpenError, NoBackendError, type UpstreamErrorKind } from '../errors';
import { Backend } from './backend';
import { Prewarmer } from './prewarm';

export interface PoolDeps {
  source: DiscoverySource;
  scheduler: Scheduler;
  logger: Logger;
  /** Whether the scheduler reads backend signals (scraping costs backend CPU). */
  scrape: boolean;
  onShed?: (pool: string, reason: ShedReason) => void;
}

/** What a request holds while it uses a backend; give it back to `complete`. */
export interface Lease {
  req: SchedulingRequest;
  backend: Backend;
  admission: Admission;
  decision: Decision;
}

/** A request that may wait in the queue: gives the signal that ends its wait (asked only when it queues). */
export interface Waiter {
  waitSignal(): AbortSignal;
}

/** How an attempt ended, for outlier detection: a status, a failure kind, or cancelled. */
export type AttemptResult = number | UpstreamErrorKind | 'cancelled';

export class PoolRuntime implements EndpointSink {
  readonly name: string;
  readonly config: PoolConfig;
  /** Its definition as JSON: a reload keeps the pool when this is unchanged. */
  readonly key: string;
  readonly backends = new Map<string, Backend>();
  /** Backends to schedule over now. Replaced whole, never mutated. */
  available: readonly Backend[] = [];
  panic = false;
  inflight = 0;
  readonly scheduler: Scheduler;
  readonly retryBudget: RetryBudget;
  /** Response statuses `retries.on` retries (the rest of `on` are failure kinds). */
  readonly retryStatuses: ReadonlySet<number>;
  readonly queue: AdmissionQueue;
  /** Resolves on the first delivery from discovery (start and reload wait for it). */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly source: DiscoverySource;
  private readonly logger: Logger;
  private readonly checker?: HealthChecker;
  private readonly scraper?: RemoteSignalScraper;
  private readonly perBackendLimit: number;
  private readonly prewarmer?: Prewarmer;
  private started = false;
  private closed = false;

  constructor(name: string, config: PoolConfig, key: string, deps: PoolDeps) {
    this.name = name;
    this.config = config;
    this.key = key;
    this.scheduler = deps.scheduler;
    this.source = deps.source;
    this.logger = deps.logger.child({ pool: name });
    this.ready = new Promise((r) => (this.markReady = r));
    this.retryBudget = new RetryBudget(config.retries);
    this.retryStatuses = new Set(config.retries.on.filter((v): v is number => typeof v === 'number'));
    this.queue = new AdmissionQueue(config.queue, { onShed: (reason) => deps.onShed?.(name, reason) });
    this.perBackendLimit = config.breaker.max_requests_per_backend;
    // Checks and scrapes run in the probe thread: see lib/health/probe-thread.ts.
    const onError = (err: Error) => this.logger.error({ err }, 'probe thread failed; restarting it');
    if (config.health.enabled) this.checker = new RemoteHealthChecker(config.health, { onError });
    // Pre-warming needs to know what is loaded, so it turns scraping on too.
    const prewarm = config.cold_start.prewarm;
    if ((deps.scrape || prewarm.length > 0) && config.scrape.enabled) {
      this.scraper = new RemoteSignalScraper(config.scrape, { logger: this.logger, onError });
      if (prewarm.length > 0) {
        const warmer = (this.prewarmer = new Prewarmer(prewarm, config.cold_start.hold_timeout, this.logger));
        this.scraper.on('scrape', (id: string) => {
          const b = this.backends.get(id);
          if (b) warmer.check(b);
        });
      }
    }
  }

  start(): void {
    this.source.start(this);
    this.started = true;
  }

  /** EndpointSink: the whole current set from discovery. */
  replace(endpoints: readonly Endpoint[]): void {
    if (this.closed) return;
    const seen = new Set<string>();
    for (const ep of endpoints) {
      seen.add(ep.id);
      const existing = this.backends.get(ep.id);
      if (existing) {
        if (existing.removed) {
          // Back while still finishing its old streams: reuse its connections and state.
          existing.removed = false;
          existing.draining = false;
          existing.beginRamp();
        }
        existing.update(ep);
        continue;
      }
      this.add(ep);
    }
    for (const b of this.backends.values()) {
      if (!seen.has(b.id) && !b.removed) {
        // Vanished from discovery: no new requests; running streams finish, then close.
        b.removed = true;
        b.draining = true;
        this.logger.info({ backend: b.id }, 'backend left discovery; draining');
        this.reapIfIdle(b);
      }
    }
    this.rebuild();
    this.markReady();
  }

  private add(ep: Endpoint): void {
    const b: Backend = new Backend(ep, this.config, {
      canEject: () => mayEject(this.backends.values(), b, this.config.outlier.max_ejection_percent),
      onChange: (state) => {
        if (state === 'open') this.logger.warn({ backend: b.id, until: b.circuit.ejectedUntil }, 'backend ejected');
        if (state === 'closed') b.beginRamp();
        this.rebuild();
      },
    });
    this.backends.set(ep.id, b);
    // HAProxy's rule: no ramp for the pool's first set, only for later arrivals.
    if (this.started && this.backends.size > 1) b.beginRamp();
    this.checker?.track(
      b.id,
      b.origin,
      (healthy) => {
        b.healthy = healthy;
        this.logger.warn({ backend: b.id, healthy }, 'health check verdict changed');
        if (healthy) b.beginRamp();
        this.rebuild();
      },
      { onResult: (pass) => pass && b.circuit.healthCheckPassed() },
    );
    this.scraper?.track({ id: b.id, url: b.origin, signals: b.signals, inflight: () => b.inflight });
    this.logger.info({ backend: ep.id, url: ep.url }, 'backend added');
  }

  /** Recompute `available` after any state change. */
  rebuild(): void {
    const { list, panic } = selectAvailable(this.backends.values(), this.config.outlier.panic_threshold);
    if (panic !== this.panic && this.backends.size > 0) this.logger.warn({ panic }, panic ? 'panic mode: spreading over all backends' : 'panic mode over');
    this.panic = panic;
    this.available = list;
  }

  /**
   * Choose a backend for one attempt and take a slot on it. Returns the lease at once in
   * the common case (no promise, no microtask); waits in the pool's priority queue while
   * every candidate is at `max_requests_per_backend`. Throws 503 at the pool's
   * `max_requests` and when no backend is available; the queue sheds with 429.
   */
  lease(req: SchedulingRequest, explain: boolean, waiter?: Waiter): Lease | Promise<Lease> {
    const got = this.tryLease(req, explain);
    return got ?? this.leaseAfterWait(req, explain, waiter);
  }

  private async leaseAfterWait(req: SchedulingRequest, explain: boolean, waiter?: Waiter): Promise<Lease> {
    for (;;) {
      await this.queue.enqueue(req.priority, { signal: waiter?.waitSignal() });
      const got = this.tryLease(req, explain);
      if (got) return got;
    }
  }

  /** A lease now, or undefined when every candidate is at its concurrency limit. */
  private tryLease(req: SchedulingRequest, explain: boolean): Lease | undefined {
    for (let denied = 0; ; ) {
      if (this.inflight >= this.config.breaker.max_requests) throw new CircuitOpenError(`pool '${this.name}' is at max_requests`);
      let decision = this.scheduler.schedule(req, this.available, explain);
      let b = decision.backend as Backend | undefined;
      if (!b) throw new NoBackendError(this.name);
      if (this.perBackendLimit > 0 && b.inflight >= this.perBackendLimit) {
        const free = this.available.filter((x) => x.inflight < this.perBackendLimit);
        if (free.length === 0) return undefined;
        decision = this.scheduler.schedule(req, free, explain);
        b = decision.backend as Backend | undefined;
        if (!b) throw new NoBackendError(this.name);
      }
      // In panic mode the list includes ejected backends on purpose: bypass their circuits.
      const admission = this.panic ? 'pass' : b.circuit.allowRequest();
      if (admission === 'deny') {
        // The snapshot was older than the circuit; it has been rebuilt since. Try again.
        if (++denied > this.backends.size) throw new NoBackendError(this.name);
        this.rebuild();
        continue;
      }
      b.inflight++;
      this.inflight++;
      return { req, backend: b, admission, decision };
    }
  }

  /** Give the slot back and feed the outcome to outlier detection. */
  complete(lease: Lease, result: AttemptResult): void {
    const b = lease.backend;
    b.inflight--;
    this.inflight--;
    if (result === 'cancelled') b.circuit.onCancel(lease.admission);
    else {
      const failure = classifyOutcome(result);
      if (failure) b.circuit.onFailure(failure, lease.admission);
      else b.circuit.onSuccess(lease.admission);
    }
    this.scheduler.onComplete?.(lease.req, b, result !== 'cancelled' && classifyOutcome(result) === undefined);
    if (b.removed) this.reapIfIdle(b);
    if (this.queue.size > 0) this.queue.wakeNext();
  }

  /** Priority of the requests being shed first: exposed for /status. */
  queued(): Record<Priority, number> {
    return this.queue.sizeByPriority();
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
    this.checker?.untrack(b.id);
    this.scraper?.untrack(b.id);
    this.prewarmer?.forget(b.id);
    this.scheduler.removeBackend?.(b.id);
    void b.close();
  }

  /** Stop discovery, checks and scrapes; close connections once idle (or at once). */
  async close(force = false): Promise<void> {
    this.closed = true;
    this.queue.rejectAll(new NoBackendError(this.name));
    this.checker?.stop();
    this.scraper?.stop();
    await this.source.stop();
    await Promise.all([...this.backends.values()].map((b) => b.close(force)));
  }

  status() {
    return {
      strategy: this.config.scheduler ? 'custom' : this.config.strategy,
      scheduler: this.scheduler.profile,
      inflight: this.inflight,
      panic: this.panic,
      queued: this.queued(),
      retries_active: this.retryBudget.active,
      discovery: this.source.status(),
      backends: [...this.backends.values()].map((b) => ({
        id: b.id,
        url: b.endpoint.url,
        state: b.state,
        healthy: b.healthy,
        draining: b.draining,
        breaker: b.circuit.state,
        ejected_until: b.circuit.ejectedUntil ? new Date(performance.timeOrigin + b.circuit.ejectedUntil).toISOString() : undefined,
        inflight: b.inflight,
        weight: b.endpoint.weight,
        effective_weight: b.effectiveWeight,
        meta: b.endpoint.meta,
        signals: b.signals.updatedAt ? { ...b.signals, loadedModels: b.signals.loadedModels ? [...b.signals.loadedModels] : undefined } : undefined,
      })),
    };
  }
}
