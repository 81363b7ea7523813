// Contracts of the scheduling framework, in the shape of llm-d's endpoint picker:
// per request, a chain of Filters drops backends that cannot serve it, weighted Scorers
// rate the rest in [0,1], and a Picker chooses. Plugins are small, stateless per request,
// and composed into a Profile by config (a named `strategy` preset or an explicit
// `scheduler:` block of a pool).
//
// The pool hands the scheduler only *available* backends (health, ejection, drain and
// breaker were applied when the pool's snapshot was built, not per request).
import type { Endpoint } from '../discovery/types';
import type { Priority } from '../config/schema';

/**
 * What a backend told us about itself, scraped from its /metrics and /v1/models.
 * Every field may be undefined (not exported by this engine, or never scraped).
 * `updatedAt` is the wall-clock ms of the last successful scrape; 0 = never.
 * Consumers must treat data older than the pool's `stale_after` as UNKNOWN, not idle.
 */
export interface BackendSignals {
  updatedAt: number;
  /** Requests being generated (vllm:num_requests_running, sglang:num_running_reqs, tgi_batch_current_size). */
  running?: number;
  /** Requests queued in the engine (vllm:num_requests_waiting, sglang:num_queue_reqs, tgi_queue_size). */
  waiting?: number;
  /** KV-cache usage in [0,1] (vllm:kv_cache_usage_perc, sglang:token_usage). */
  kvUsage?: number;
  /** GPU utilisation in [0,1] (DCGM_FI_DEV_GPU_UTIL / 100). */
  gpuUtil?: number;
  /** Models resident on the backend (from /v1/models), if known. */
  loadedModels?: ReadonlySet<string>;
  /** Local in-flight count at the time of the scrape, to estimate the queue between scrapes. */
  inflightAtScrape?: number;
  /**
   * Recent mean inter-token latency in seconds (vllm:inter_token_latency_seconds and kin):
   * Δsum ÷ Δcount of the histogram between scrapes, averaged over the last few scrapes
   * that saw tokens (each earlier scrape's share decays by 1/4 a scrape; see scraper.ts).
   * Undefined until two scrapes a token apart. A backend that generates nothing keeps its
   * last value: there is nothing new to measure until it serves again.
   */
  itl?: number;
}

/** The read-only face of a backend that plugins see. Implemented by routing/backend.ts. */
export interface BackendView {
  readonly id: string;
  readonly endpoint: Endpoint;
  /** Requests this Switchyard process has in flight to the backend right now. */
  readonly inflight: number;
  /** Endpoint weight × slow-start ramp, > 0. */
  readonly effectiveWeight: number;
  readonly signals: BackendSignals;
  /** True when `signals` is younger than the pool's stale_after. */
  signalsFresh(now: number): boolean;
  /** Models this backend can serve according to discovery Meta (`model`, comma-separated); empty = any. */
  readonly servesModels: ReadonlySet<string>;
}

/** What the scheduler knows of the request. Built once per request by the proxy. */
export interface SchedulingRequest {
  readonly requestId: string;
  /** The model the backend will be asked for (after rewrite_model). */
  readonly model?: string;
  /** Session key (header, cookie or body `user`, as the pool's `session` config says). */
  readonly sessionKey?: string;
  /**
   * The prompt as the engine will see it, for prefix affinity: chat messages rendered as
   * `<|role|>\n{content}\n` each, or the completion prompt. Undefined when the body was not
   * inspected (too large, not JSON) — prefix scorers then score every candidate 0.
   */
  readonly promptText?: string;
  readonly priority: Priority;
  /** Backends tried already for this request (retries go elsewhere). */
  readonly exclude?: ReadonlySet<string>;
}

/** Per-request scratch space shared by the plugins of one scheduling cycle. */
export type CycleState = Map<string, unknown>;

export interface Filter {
  readonly name: string;
  /**
   * Return the candidates that may serve the request (a subset, order preserved).
   * Returning an empty array is allowed: the scheduler then reports "no backend".
   * A filter that is a *preference* (e.g. model loaded) returns its input unchanged when
   * nothing passes, rather than emptying the set.
   */
  filter(req: SchedulingRequest, candidates: readonly BackendView[], state: CycleState, now: number): readonly BackendView[];
}

export interface Scorer {
  readonly name: string;
  /**
   * One score per candidate, each in [0,1], higher is better; `out[i]` belongs to
   * `candidates[i]`. Must handle an empty candidate list and unknown/stale signals
   * (documented per scorer). `out` is a reused buffer that may be longer than
   * `candidates`: only its first `candidates.length` entries are read.
   */
  score(req: SchedulingRequest, candidates: readonly BackendView[], out: Float64Array, state: CycleState, now: number): void;
}

export interface Picker {
  readonly name: string;
  /**
   * Choose one of the candidates given their weighted total scores (same indices; `totals`
   * may be longer than `candidates`); undefined if none.
   */
  pick(req: SchedulingRequest, candidates: readonly BackendView[], totals: Float64Array, state: CycleState): BackendView | undefined;
}

/** Optional hook run after the pick (e.g. remember which backend got which prefix). */
export interface PostPick {
  readonly name: string;
  onPick(req: SchedulingRequest, picked: BackendView, state: CycleState, now: number): void;
}

export interface ScoreExplain {
  id: string;
  scores: Record<string, number>;
  total: number;
}

export interface Decision {
  backend: BackendView | undefined;
  /** Filled only when explain recording is on. */
  explain?: {
    profile: string;
    candidates: number;
    filtered: Record<string, number>;
    scored: ScoreExplain[];
    picked?: string;
  };
}

export interface Scheduler {
  readonly profile: string;
  schedule(req: SchedulingRequest, candidates: readonly BackendView[], explain: boolean): Decision;
  /** Called when the request finishes, for plugins that learn (e.g. migration); optional. */
  onComplete?(req: SchedulingRequest, backend: BackendView, ok: boolean): void;
  /** Forget state of backends that left the pool. */
  removeBackend?(id: string): void;
}

/** Implemented by plugins that keep per-backend state (rotation counters, prefix index). */
export interface BackendForgetter {
  removeBackend(id: string): void;
}
