// Consul discovery for one pool: a blocking watch on /v1/health/service/:service?passing in
// every datacenter the pool lists, and delivery of the active datacenter's set.
//
// Last known good: a failing watch delivers nothing, so the pool keeps serving what it has.
// A healthy answer that is suddenly empty is held for `empty_grace` before it is believed
// (a mass deregistration is more often an accident — an agent restart, an ACL change — than
// an intent); any non-empty answer in the meantime ends the hold.
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { ConsulConfig, PoolConsulConfig } from '../config/schema';
import { ConsulClient, resolveEndpoint, type HealthEntry } from './consul-client';
import { pickDatacenter, resolveDatacenters } from './consul-datacenters';
import { fingerprint, toEndpoints } from './consul-endpoints';
import { BlockingWatch, PLAN_GO_RETRY, retryUntilDone, type WatchTiming } from './consul-watch';
import type { DiscoverySource, Endpoint, EndpointSink, SourceStatus } from './types';

export interface ConsulSourceOptions {
  pool: string;
  service: PoolConsulConfig;
  consul: ConsulConfig;
  logger?: Logger;
  /** Error backoff; plan.go's 5 s·n², capped at 180 s, unless a test needs it faster. */
  retry?: Pick<WatchTiming, 'retryBaseMs' | 'retryMaxMs'>;
}

export interface ConsulSourceEvents {
  /** The set handed to the sink, and the datacenter it came from. */
  deliver: [endpoints: readonly Endpoint[], datacenter: string | undefined];
  /** A watch failed; the last set stays. */
  fail: [datacenter: string | undefined, error: Error, retryMs: number];
  /** A watch answered with a new index (after the set, if any, was delivered). */
  answer: [datacenter: string | undefined, endpoints: readonly Endpoint[]];
  /** A healthy but empty answer is being held for `empty_grace`. */
  'hold-empty': [datacenter: string | undefined];
  /** The serving datacenter changed. */
  failover: [from: string | undefined, to: string | undefined];
}

interface WatchedDc {
  name: string | undefined;
  watch: BlockingWatch<HealthEntry[]>;
  /** The set this datacenter is believed to have; undefined until it first answers. */
  accepted?: Endpoint[];
  settled: boolean;
  emptyTimer?: NodeJS.Timeout;
}

export class ConsulSource extends EventEmitter<ConsulSourceEvents> implements DiscoverySource {
  readonly kind = 'consul';
  private readonly client: ConsulClient;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private dcs: WatchedDc[] = [];
  private sink?: EndpointSink;
  private starting?: Promise<void>;
  private active?: WatchedDc;
  private delivered?: string;
  private lastUpdate?: number;
  private setupError?: string;

  constructor(private readonly opts: ConsulSourceOptions) {
    super();
    this.client = new ConsulClient(resolveEndpoint(opts.consul));
    this.log = (opts.logger ?? pino({ enabled: false })).child({ pool: opts.pool, service: opts.service.service });
  }

  start(sink: EndpointSink): void {
    this.sink = sink;
    this.starting ??= this.setup();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.starting;
    for (const dc of this.dcs) clearTimeout(dc.emptyTimer);
    await Promise.all(this.dcs.map((dc) => dc.watch.stop()));
    this.client.destroy();
  }

  status(): SourceStatus {
    const active = this.active ?? this.dcs[0];
    const lastError = this.setupError ?? active?.watch.lastError;
    return {
      kind: this.kind,
      ok: lastError === undefined,
      lastError,
      lastUpdate: this.lastUpdate,
      detail: {
        service: this.opts.service.service,
        tags: this.opts.service.tags,
        active: this.active?.name,
        datacenters: this.dcs.map((dc) => ({
          name: dc.name,
          ok: dc.watch.ok,
          lastError: dc.watch.lastError,
          index: dc.watch.index,
          requests: dc.watch.requests,
          lastSuccess: dc.watch.lastSuccess,
          passing: dc.accepted?.length,
          holdingEmpty: dc.emptyTimer !== undefined,
        })),
      },
    };
  }

  /** Resolves the datacenter list (retrying like a watch would), then starts one watch each. */
  private async setup(): Promise<void> {
    const signal = this.abort.signal;
    const retry = this.opts.retry ?? PLAN_GO_RETRY;
    const names = await retryUntilDone(
      () => resolveDatacenters(this.opts.service, this.opts.consul.datacenter, () => this.client.datacenters(signal)),
      retry,
      signal,
      (err, retryMs) => {
        this.setupError = `listing datacenters: ${err.message}`;
        this.log.warn({ err: err.message, retryMs }, 'consul: cannot list datacenters');
        this.emit('fail', undefined, err, retryMs);
      },
    );
    if (!names) return;
    this.setupError = undefined;
    const timing: WatchTiming = {
      waitMs: this.opts.consul.wait,
      minIntervalMs: this.opts.consul.min_interval,
      burst: this.opts.consul.burst,
      ...retry,
    };
    this.dcs = names.map((name) => this.watchDatacenter(name, timing));
    for (const dc of this.dcs) dc.watch.start();
  }

  private watchDatacenter(name: string | undefined, timing: WatchTiming): WatchedDc {
    const { service, tags } = this.opts.service;
    const watch = new BlockingWatch<HealthEntry[]>((q) => this.client.healthService({ service, tags, dc: name, ...q }), timing);
    const dc: WatchedDc = { name, watch, settled: false };
    watch.on('change', (entries) => {
      const endpoints = toEndpoints(entries, name);
      this.onAnswer(dc, endpoints);
      this.emit('answer', name, endpoints);
    });
    watch.on('fail', (err, retryMs) => {
      this.log.warn({ dc: name, err: err.message, retryMs, failures: watch.failures }, 'consul: watch failed, keeping the last set');
      dc.settled = true;
      this.emit('fail', name, err, retryMs);
      this.reselect();
    });
    return dc;
  }

  private onAnswer(dc: WatchedDc, endpoints: Endpoint[]): void {
    dc.settled = true;
    if (endpoints.length === 0 && dc.accepted !== undefined && dc.accepted.length > 0) {
      if (dc.emptyTimer === undefined) {
        this.log.warn({ dc: dc.name, graceMs: this.opts.consul.empty_grace }, 'consul: healthy answer is empty; keeping the last set for the grace period');
        dc.emptyTimer = setTimeout(() => {
          dc.emptyTimer = undefined;
          dc.accepted = [];
          this.reselect();
        }, this.opts.consul.empty_grace);
        this.emit('hold-empty', dc.name);
      }
      return;
    }
    clearTimeout(dc.emptyTimer);
    dc.emptyTimer = undefined;
    dc.accepted = endpoints;
    this.reselect();
  }

  /** Chooses the serving datacenter and hands its set to the sink if anything changed. */
  private reselect(): void {
    if (this.abort.signal.aborted) return;
    const views = this.dcs.map((dc) => ({ name: dc.name ?? '', healthy: dc.accepted?.length, settled: dc.settled }));
    const pick = pickDatacenter(views, this.opts.service.min_healthy);
    const next = this.dcs.find((dc) => (dc.name ?? '') === pick);
    if (!next?.accepted) return;
    if (this.active !== next) {
      if (this.active) this.log.warn({ from: this.active.name, to: next.name }, 'consul: serving datacenter changed');
      this.emit('failover', this.active?.name, next.name);
      this.active = next;
    }
    const print = fingerprint(next.accepted);
    if (print === this.delivered) return;
    this.delivered = print;
    this.lastUpdate = Date.now();
    try {
      this.sink?.replace(next.accepted);
    } catch (err) {
      this.log.error({ err }, 'consul: the pool rejected an endpoint set');
    }
    this.emit('deliver', next.accepted, next.name);
  }
}
