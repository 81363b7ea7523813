// Switchyard's Prometheus metrics, with the names of the public contract.
// Hot-path counters and histograms are reached through cached label children (prom-client
// hashes label sets on every un-cached call); gauges that mirror state (in-flight, up,
// breaker) are computed at scrape time from the pools, so requests never touch them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

/** What the gauges read at scrape time. */
export interface BackendGaugeSource {
  pool: string;
  backend: string;
  inflight: number;
  up: boolean;
  /** 0 closed, 1 half-open, 2 open. */
  breaker: number;
}

// LLM requests last from milliseconds (cached short answers) to minutes (long generations).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFB_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Child<T> = { inc?: (v?: number) => void; observe?: (v: number) => void } & T;

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'pool' | 'backend' | 'code'>;
  private readonly duration: Histogram<'route' | 'pool'>;
  private readonly ttfb: Histogram<'route' | 'pool'>;
  private readonly upstreamErrors: Counter<'pool' | 'backend' | 'kind'>;
  private readonly retries: Counter<'pool'>;
  private readonly shed: Counter<'pool' | 'reason'>;
  private readonly reloads: Counter<'result'>;
  private readonly configInfo: Gauge<'hash'>;
  private readonly children = new Map<string, Child<object>>();
  private backendSource: () => Iterable<BackendGaugeSource> = () => [];

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_process_' });
    this.requests = new Counter({
      name: 'switchyard_requests_total',
      help: 'Requests answered, by route, pool, backend and HTTP status code.',
      labelNames: ['route', 'pool', 'backend', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'switchyard_request_duration_seconds',
      help: 'Time from request start to the last byte of the response.',
      labelNames: ['route', 'pool'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.ttfb = new Histogram({
      name: 'switchyard_time_to_first_byte_seconds',
      help: 'Time from request start to the first response body byte (first token of a stream).',
      labelNames: ['route', 'pool'],
      buckets: TTFB_BUCKETS,
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'switchyard_upstream_errors_total',
      help: 'Upstream failures by kind (connect, reset, timeout, status_5xx, protocol).',
      labelNames: ['pool', 'backend', 'kind'],
      registers,
    });
    this.retries = new Counter({ name: 'switchyard_retries_total', help: 'Retries sent to another backend.', labelNames: ['pool'], registers });
    this.shed = new Counter({ name: 'switchyard_shed_total', help: 'Requests refused by load shedding or rate limits.', labelNames: ['pool', 'reason'], registers });
    this.reloads = new Counter({ name: 'switchyard_config_reloads_total', help: 'Config reload attempts by result.', labelNames: ['result'], registers });
    this.configInfo = new Gauge({ name: 'switchyard_config_info', help: 'The active config; value 1, label hash.', labelNames: ['hash'], registers });

    this.backendGauge('switchyard_inflight_requests', 'Requests in flight to each backend.', (b) => b.inflight);
    this.backendGauge('switchyard_backend_up', '1 when the backend may take new requests, else 0.', (b) => (b.up ? 1 : 0));
    this.backendGauge('switchyard_breaker_state', 'Circuit breaker per backend: 0 closed, 1 half-open, 2 open.', (b) => b.breaker);
  }

  /** A {pool,backend} gauge read from the pools at scrape time. */
  private backendGauge(name: string, help: string, value: (b: BackendGaugeSource) => number): void {
    const source = () => this.backendSource();
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'backend'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const b of source()) this.set({ pool: b.pool, backend: b.backend }, value(b));
      },
    });
  }

  setBackendSource(fn: () => Iterable<BackendGaugeSource>): void {
    this.backendSource = fn;
  }

  private child<T extends object>(key: string, make: () => T): T {
    let c = this.children.get(key) as T | undefined;
    if (!c) {
      c = make();
      this.children.set(key, c as Child<object>);
    }
    return c;
  }

  requestDone(route: string, pool: string, backend: string, code: number, durationS: number, ttfbS: number | undefined): void {
    this.child(`r\0${route}\0${pool}\0${backend}\0${code}`, () => this.requests.labels(route, pool, backend, String(code))).inc();
    this.child(`d\0${route}\0${pool}`, () => this.duration.labels(route, pool)).observe(durationS);
    if (ttfbS !== undefined) this.child(`t\0${route}\0${pool}`, () => this.ttfb.labels(route, pool)).observe(ttfbS);
  }

  upstreamError(pool: string, backend: string, kind: string): void {
    this.child(`e\0${pool}\0${backend}\0${kind}`, () => this.upstreamErrors.labels(pool, backend, kind)).inc();
  }

  retry(pool: string): void {
    this.child(`y\0${pool}`, () => this.retries.labels(pool)).inc();
  }

  shedded(pool: string, reason: string): void {
    this.child(`s\0${pool}\0${reason}`, () => this.shed.labels(pool, reason)).inc();
  }

  reload(result: 'success' | 'failure'): void {
    this.reloads.inc({ result } as LabelValues<'result'>);
  }

  setConfigHash(hash: string): void {
    this.configInfo.reset();
    this.configInfo.set({ hash }, 1);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
