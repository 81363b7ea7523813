// Switchyard's Prometheus metrics, with the names of the public contract.
// The per-request series (requests, duration, time to first byte) are series.ts families,
// found through nested maps keyed by the request's names (no string building per request);
// the rarer counters use cached prom-client children; gauges that mirror state (in-flight, up,
// breaker) are computed at scrape time from the pools, so requests never touch them.
import { Counter, Gauge, Registry, collectDefaultMetrics, type LabelValues, type Metric } from 'prom-client';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries, type RegistryMetric } from './series';

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

interface RouteSeries {
  duration: HistogramSeries;
  ttfb: HistogramSeries;
  /** backend → status code → counter. */
  byBackend: Map<string, Map<number, CounterSeries>>;
}

type Child<T> = { inc?: (v?: number) => void; observe?: (v: number) => void } & T;

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly ttfb: HistogramFamily;
  /** route → pool → the series a finished request touches. */
  private readonly perRoute = new Map<string, Map<string, RouteSeries>>();
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
    this.requests = this.fast(
      new CounterFamily('switchyard_requests_total', 'Requests answered, by route, pool, backend and HTTP status code.', ['route', 'pool', 'backend', 'code']),
    );
    this.duration = this.fast(
      new HistogramFamily('switchyard_request_duration_seconds', 'Time from request start to the last byte of the response.', ['route', 'pool'], DURATION_BUCKETS),
    );
    this.ttfb = this.fast(
      new HistogramFamily(
        'switchyard_time_to_first_byte_seconds',
        'Time from request start to the first response body byte (first token of a stream).',
        ['route', 'pool'],
        TTFB_BUCKETS,
      ),
    );
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

  private fast<M extends RegistryMetric>(m: M): M {
    this.registry.registerMetric(m as unknown as Metric);
    return m;
  }

  /** One finished request. `ttfbS` < 0: no body byte reached the client. */
  requestDone(route: string, pool: string, backend: string, code: number, durationS: number, ttfbS: number): void {
    let byPool = this.perRoute.get(route);
    if (!byPool) this.perRoute.set(route, (byPool = new Map()));
    let rs = byPool.get(pool);
    if (!rs) byPool.set(pool, (rs = { duration: this.duration.with(route, pool), ttfb: this.ttfb.with(route, pool), byBackend: new Map() }));
    let byCode = rs.byBackend.get(backend);
    if (!byCode) rs.byBackend.set(backend, (byCode = new Map()));
    let counter = byCode.get(code);
    if (!counter) byCode.set(code, (counter = this.requests.with(route, pool, backend, String(code))));
    counter.inc();
    rs.duration.observe(durationS);
    if (ttfbS >= 0) rs.ttfb.observe(ttfbS);
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
