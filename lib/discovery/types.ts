// The contract between discovery sources (static YAML, Consul, later a file or etcd) and
// the pools. A source knows the endpoints of one pool and hands the pool the whole current
// set whenever it changes; the pool diffs it (upserts, drains what vanished) and rebuilds its
// snapshot. Sources never touch routing or scheduling state.

/** One backend as discovery knows it. Immutable: a change is a new Endpoint object. */
export interface Endpoint {
  /** Stable identity across updates: static "host:port" (or the YAML `id`); Consul "ServiceID@dc". */
  readonly id: string;
  /** Origin the proxy connects to, e.g. "http://10.0.0.5:8000". Never derived from a request. */
  readonly url: string;
  /** Relative weight ≥ 0 (Consul Meta `weight` or Service.Weights.Passing; YAML `weight`); default 1. */
  readonly weight: number;
  /**
   * Free-form facts: `model` (comma-separated list allowed), `model_version`, `gpu_type`,
   * `zone`, `region`, `datacenter`. Strings only, as Consul Meta is.
   */
  readonly meta: Readonly<Record<string, string>>;
  /** Consul datacenter the endpoint lives in; undefined for static endpoints. */
  readonly datacenter?: string;
}

/** Where a source delivers its view. */
export interface EndpointSink {
  /**
   * The complete current set for the pool. Sources call it on every change they accept
   * (never with an empty set caused by an error: on errors they keep quiet and the pool
   * keeps its last known good set).
   */
  replace(endpoints: readonly Endpoint[]): void;
}

/** Snapshot of a source's health, for /status and metrics. */
export interface SourceStatus {
  kind: string;
  /** False while the source is failing (the pool serves its last known good set). */
  ok: boolean;
  lastError?: string;
  lastUpdate?: number;
  /** Source-specific facts, e.g. the active datacenter and per-watch index for Consul. */
  detail?: Record<string, unknown>;
}

export interface DiscoverySource {
  readonly kind: string;
  /** Begin delivering endpoints to the sink. May deliver synchronously (static) or later. */
  start(sink: EndpointSink): void;
  /** Stop all watches; pending requests are aborted. */
  stop(): Promise<void>;
  status(): SourceStatus;
}
