// One simulated backend: an HTTP listener speaking vLLM's OpenAI-compatible API in front of
// an Engine (lib/sim/engine.ts) driven by a SimClock. Wire formats follow vllm-project/vllm
// `vllm/entrypoints/openai/{completion,chat_completion,models}/serving.py` (spec §2).
//
// Streaming responses send their headers together with the first token (vLLM sends them at
// once): a stalled backend then shows as time-to-first-byte, which is what a proxy's
// first-byte timeout sees.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { SimClock, type Flushable } from './clock';
import { Engine, type EngineOptions, type EngineRequest, type FinishReason, type ModelSpec, type RequestSink } from './engine';
import { FAILURE_ERRORS, KNOB_DEFAULTS, parsePatch, type AdminPatch, type Knobs } from './failures';
import type { KvEvent } from './kvcache';
import { renderMetrics, type MetricsFlavor } from './metrics';
import { DEFAULT_PROFILE, getProfile, type Profile } from './profiles';
import { Rng } from './rng';
import { contentText, pieces, renderChat, tokenize, type ChatMessage } from './tokenizer';

/** Engine settings an instance passes through unchanged (see EngineOptions). */
type EngineSettings = Pick<
  EngineOptions,
  'maxLoadedModels' | 'kvCapacityTokens' | 'blockSize' | 'maxNumSeqs' | 'maxNumBatchedTokens' | 'seed' | 'mode' | 'overheadMs'
>;

export interface InstanceOptions extends EngineSettings {
  /** Default `sim-<port>` (the port actually bound). */
  id?: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  profile?: string;
  /** `name` or `name:weightsGB` strings, or specs. Default: the profile's model. */
  models?: (string | ModelSpec)[];
  metricsFlavor?: MetricsFlavor;
  /** Model ms before the initial models are ready (/health/ready 503 meanwhile). */
  startupDurationMs?: number;
  /** Also export vllm:gpu_cache_usage_perc. */
  legacyKvMetric?: boolean;
  /** Initial failure knobs (see lib/sim/failures.ts). */
  failure?: Partial<Knobs>;
}

const MAX_BODY = 64 * 1024 * 1024;

/** GET /sim/state. Times in model ms; counters since start (a simulated crash keeps them). */
export interface SimState {
  id: string;
  url: string;
  port: number;
  profile: string;
  time_scale: number;
  model_time_ms: number;
  listening: boolean;
  crashed: boolean;
  models: {
    name: string;
    state: string;
    weights_gb: number;
    active_requests: number;
    blocked_requests: number;
    last_used_ms: number;
    loads: number;
    load_done_at_ms?: number;
  }[];
  kv: { block_size: number; total_blocks: number; free_blocks: number; cached_blocks: number; usage: number; capacity_tokens: number; evictions: number };
  queue: { running: number; waiting: number };
  counters: {
    /** TCP connections accepted. */
    connections: number;
    /** Every HTTP request (any path). */
    requests: number;
    /** POST /v1/completions and /v1/chat/completions, counted on arrival before any check. */
    inference_requests: number;
    /** Generations aborted because the client went away. */
    client_disconnects: number;
    injected_errors: number;
    /** Generations cut by abort_after_tokens. */
    injected_aborts: number;
    health_probes: number;
    bytes_received: number;
    submitted: number;
    finished: number;
    /** Generations aborted before the end, any cause but a crash. */
    aborted: number;
    dropped_by_crash: number;
    prompt_tokens: number;
    generation_tokens: number;
    prefix_cache_queries: number;
    prefix_cache_hits: number;
    preemptions: number;
    steps: number;
    busy_ms: number;
  };
  utilization: number;
  clock: { ticks: number; p50: number; p99: number; max: number };
  knobs: Knobs;
}

export function parseModelList(list: readonly (string | ModelSpec)[] | undefined, profile: Profile): ModelSpec[] {
  if (!list || list.length === 0) return [{ name: profile.defaultModel, weightsGB: profile.defaultWeightsGB }];
  return list.map((x) => {
    if (typeof x !== 'string') return x;
    const i = x.lastIndexOf(':');
    if (i > 0 && /^\d+(\.\d+)?$/.test(x.slice(i + 1))) return { name: x.slice(0, i), weightsGB: Number(x.slice(i + 1)) };
    return { name: x, weightsGB: profile.defaultWeightsGB };
  });
}

function errorBody(status: number, type: string, message: string, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code: status } });
}

export class SimInstance {
  id: string;
  readonly host: string;
  port: number;
  readonly profile: Profile;
  readonly engine: Engine;
  readonly clock: SimClock;
  readonly flavor: MetricsFlavor;
  readonly legacyKvMetric: boolean;
  knobs: Knobs;
  readonly counters = {
    connections: 0,
    requests: 0,
    inference_requests: 0,
    client_disconnects: 0,
    injected_errors: 0,
    injected_aborts: 0,
    health_probes: 0,
  };
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private closedSocketBytes = 0;
  private readonly rng: Rng;
  private frozenMetrics: string | null = null;
  private crashed = false;
  private closed = false;
  private timers = new Set<NodeJS.Timeout>();
  private readonly kvSubscribers = new Set<http.ServerResponse>();
  private readonly kvHub: KvEventHub;
  private readonly fixedId: string | undefined;

  constructor(opts: InstanceOptions, clock: SimClock) {
    this.profile = getProfile(opts.profile ?? DEFAULT_PROFILE);
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    this.fixedId = opts.id;
    this.id = opts.id ?? `sim-${this.port}`;
    this.clock = clock;
    this.flavor = opts.metricsFlavor ?? 'vllm';
    this.legacyKvMetric = opts.legacyKvMetric ?? false;
    this.rng = new Rng((opts.seed ?? 1) * 7919 + 17);
    this.knobs = {
      ...KNOB_DEFAULTS,
      max_num_seqs: opts.maxNumSeqs ?? KNOB_DEFAULTS.max_num_seqs,
      max_num_batched_tokens: opts.maxNumBatchedTokens ?? KNOB_DEFAULTS.max_num_batched_tokens,
      kv_capacity_tokens: opts.kvCapacityTokens ?? null,
      mode: opts.mode ?? 'random',
      ...opts.failure,
    };
    this.engine = new Engine({
      profile: this.profile,
      models: parseModelList(opts.models, this.profile),
      maxLoadedModels: opts.maxLoadedModels ?? 1,
      kvCapacityTokens: this.knobs.kv_capacity_tokens ?? undefined,
      blockSize: opts.blockSize ?? 16,
      maxNumSeqs: this.knobs.max_num_seqs,
      maxNumBatchedTokens: this.knobs.max_num_batched_tokens,
      seed: opts.seed ?? 1,
      mode: this.knobs.mode,
      jitterPct: this.knobs.latency_jitter_pct,
      slowdown: this.knobs.slowdown,
      overheadMs: opts.overheadMs,
      startupMs: opts.startupDurationMs ?? 0,
    });
    this.kvHub = new KvEventHub(this.kvSubscribers);
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }
  get listening(): boolean {
    return this.server !== null;
  }

  /** Bind the listener (the first time on `port`, later on the port it got). */
  async start(): Promise<void> {
    await this.listen();
    this.id = this.fixedId ?? `sim-${this.port}`;
    this.clock.add(this.engine);
    if (this.knobs.refuse_connections !== false) this.applyRefuse(this.knobs.refuse_connections);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.clock.remove(this.engine);
    for (const res of this.kvSubscribers) res.end();
    this.kvSubscribers.clear();
    await this.stopListening(true);
  }

  /** Change knobs at runtime (what POST /admin/config does). Returns the knobs in force. */
  setFailure(patch: AdminPatch): Knobs {
    const { crash, ...knobs } = patch;
    const wasFrozen = this.knobs.metrics_freeze;
    const refuseBefore = this.knobs.refuse_connections;
    this.knobs = { ...this.knobs, ...knobs };
    const e = this.engine;
    this.clock.sync(e);
    e.slowdown = this.knobs.slowdown;
    e.jitterPct = this.knobs.latency_jitter_pct;
    e.maxNumSeqs = this.knobs.max_num_seqs;
    e.maxNumBatchedTokens = this.knobs.max_num_batched_tokens;
    e.mode = this.knobs.mode;
    if ('kv_capacity_tokens' in knobs) e.setKvCapacity(this.knobs.kv_capacity_tokens ?? undefined);
    if (this.knobs.metrics_freeze && !wasFrozen) this.frozenMetrics = this.renderMetricsNow();
    if (!this.knobs.metrics_freeze) this.frozenMetrics = null;
    if ('refuse_connections' in knobs && knobs.refuse_connections !== refuseBefore) this.applyRefuse(this.knobs.refuse_connections);
    if (crash !== undefined) this.crash(crash);
    this.clock.kick();
    return this.knobs;
  }

  /** Simulated crash: every connection reset, the listener down `seconds` (model time), then back cold. */
  crash(seconds: number): void {
    this.crashed = true;
    this.clock.sync(this.engine);
    this.engine.reset('crash');
    void this.stopListening(true);
    this.later(seconds * 1000, () => {
      this.crashed = false;
      if (this.knobs.refuse_connections === false) void this.listen();
    });
  }

  /** The engine's state as JSON (GET /sim/state). */
  state(): SimState {
    const e = this.engine;
    this.clock.sync(e);
    const t = e.totals();
    const pool = e.pool;
    let bytes = this.closedSocketBytes;
    for (const s of this.sockets) bytes += s.bytesRead;
    return {
      id: this.id,
      url: this.url,
      port: this.port,
      profile: this.profile.name,
      time_scale: this.clock.timeScale,
      model_time_ms: e.now,
      listening: this.listening,
      crashed: this.crashed,
      models: [...e.models.values()].map((m) => ({
        name: m.name,
        state: m.state,
        weights_gb: m.weightsGB,
        active_requests: m.active,
        blocked_requests: m.blocked.length,
        last_used_ms: m.lastUsed,
        loads: m.loads,
        ...(m.state === 'loading' ? { load_done_at_ms: m.loadDoneAt } : {}),
      })),
      kv: {
        block_size: e.blockSize,
        total_blocks: pool.targetBlocks,
        free_blocks: pool.freeCount,
        cached_blocks: pool.cachedBlocks,
        usage: pool.usage(),
        capacity_tokens: pool.targetBlocks * e.blockSize,
        evictions: pool.evictions,
      },
      queue: { running: e.numRunning, waiting: e.numWaiting },
      counters: {
        ...this.counters,
        bytes_received: bytes,
        submitted: e.submitted,
        finished: t.finishedStop + t.finishedLength,
        aborted: e.aborted,
        dropped_by_crash: e.dropped,
        prompt_tokens: t.promptTokens,
        generation_tokens: t.generationTokens,
        prefix_cache_queries: t.prefixQueries,
        prefix_cache_hits: t.prefixHits,
        preemptions: t.preemptions,
        steps: e.steps,
        busy_ms: e.busyMs,
      },
      utilization: e.utilization(),
      clock: this.clock.lagStats(),
      knobs: this.knobs,
    };
  }

  // --- listener --------------------------------------------------------------------------

  private listen(): Promise<void> {
    if (this.server || this.closed) return Promise.resolve();
    const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 5000 }, (req, res) => this.onRequest(req, res));
    server.on('connection', (s: Socket) => {
      this.counters.connections++;
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => {
        this.sockets.delete(s);
        this.closedSocketBytes += s.bytesRead;
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
  }

  private stopListening(destroyAll: boolean): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    if (destroyAll) {
      server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
    } else {
      server.closeIdleConnections();
    }
    return done;
  }

  private applyRefuse(v: boolean | number): void {
    if (v === false) {
      if (!this.crashed) void this.listen();
      return;
    }
    void this.stopListening(false);
    if (typeof v === 'number') {
      this.later(v, () => {
        this.knobs = { ...this.knobs, refuse_connections: false };
        if (!this.crashed) void this.listen();
      });
    }
  }

  /** Run `fn` after a model-time delay. */
  private later(modelMs: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, this.clock.toReal(modelMs));
    this.timers.add(t);
  }

  // --- routing ---------------------------------------------------------------------------

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.counters.requests++;
    res.setHeader('x-sim-backend', this.id);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const only = (m: string): boolean => {
      if (method === m || (m === 'GET' && method === 'HEAD')) return true;
      res.setHeader('allow', m);
      this.sendError(res, 405, 'MethodNotAllowed', `Method ${method} not allowed; use ${m}`);
      req.resume();
      return false;
    };
    switch (path) {
      case '/v1/chat/completions':
        if (only('POST')) void this.generate('chat', req, res);
        return;
      case '/v1/completions':
        if (only('POST')) void this.generate('completion', req, res);
        return;
      case '/v1/models':
        if (only('GET')) this.sendJson(res, 200, this.modelsBody());
        return;
      case '/health':
        if (only('GET')) this.health(res);
        return;
      case '/health/ready':
        if (only('GET')) this.ready(res);
        return;
      case '/metrics':
        if (only('GET')) {
          const text = this.frozenMetrics ?? this.renderMetricsNow();
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        }
        return;
      case '/sim/state':
        if (only('GET')) this.sendJson(res, 200, this.state());
        return;
      case '/sim/kv-events':
        if (only('GET')) this.kvEvents(req, res);
        return;
      case '/admin/config':
        if (method === 'GET') this.sendJson(res, 200, this.knobs);
        else if (only('POST')) void this.adminConfig(req, res);
        return;
      case '/get_load':
        if (only('GET')) {
          this.clock.sync(this.engine);
          const e = this.engine;
          const load = e.tokenLoad();
          this.sendJson(res, 200, { load, num_reqs: e.numRunning + e.numWaiting, num_waiting_reqs: e.numWaiting, num_tokens: load });
        }
        return;
      case '/v1/loads':
        if (only('GET')) {
          this.clock.sync(this.engine);
          const e = this.engine;
          this.sendJson(res, 200, {
            loads: [
              {
                dp_rank: 0,
                num_running_reqs: e.numRunning,
                num_waiting_reqs: e.numWaiting,
                num_total_tokens: e.tokenLoad(),
                token_usage: e.kvUsage(),
              },
            ],
          });
        }
        return;
      default:
        req.resume();
        this.sendError(res, 404, 'NotFoundError', `No route for ${method} ${path}`);
    }
  }

  private health(res: http.ServerResponse): void {
    this.counters.health_probes++;
    const flap = this.knobs.health_flap_rate > 0 && this.rng.next() < this.knobs.health_flap_rate;
    res.writeHead(this.knobs.drain || flap ? 503 : 200, { 'content-length': 0 });
    res.end();
  }

  private ready(res: http.ServerResponse): void {
    this.clock.sync(this.engine);
    const ok = !this.knobs.drain && !this.engine.loading;
    res.writeHead(ok ? 200 : 503, { 'content-length': 0 });
    res.end();
  }

  private modelsBody(): unknown {
    this.clock.sync(this.engine);
    const created = Math.floor(Date.now() / 1000);
    const data = [...this.engine.models.values()]
      .filter((m) => m.state === 'loaded')
      .map((m) => ({
        id: m.name,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: m.name,
        parent: null,
        max_model_len: this.profile.maxModelLen,
        permission: [],
      }));
    return { object: 'list', data };
  }

  private renderMetricsNow(): string {
    this.clock.sync(this.engine);
    return renderMetrics(this);
  }

  private kvEvents(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write(': kv events\n\n');
    this.kvSubscribers.add(res);
    if (this.kvSubscribers.size === 1) this.engine.setKvEventSink((ev) => this.kvHub.push(ev, this.clock));
    res.on('close', () => {
      this.kvSubscribers.delete(res);
      if (this.kvSubscribers.size === 0) this.engine.setKvEventSink(null);
    });
    req.resume();
  }

  private async adminConfig(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: unknown;
    try {
      const buf = await readBody(req, 1024 * 1024);
      body = buf.length ? JSON.parse(buf.toString('utf8')) : {};
    } catch (err) {
      this.sendError(res, 400, 'BadRequestError', `invalid JSON body: ${(err as Error).message}`);
      return;
    }
    const r = parsePatch(body);
    if (!r.ok) {
      this.sendError(res, 400, 'BadRequestError', r.problems.join('; '));
      return;
    }
    // a crash or a refusal takes the listener down: it starts once the answer is out
    const { crash, refuse_connections, ...now } = r.patch;
    const knobs = this.setFailure(now);
    this.sendJson(res, 200, refuse_connections === undefined ? knobs : { ...knobs, refuse_connections });
    if (crash !== undefined || refuse_connections !== undefined) {
      const later: AdminPatch = crash !== undefined ? { crash } : {};
      if (refuse_connections !== undefined) later.refuse_connections = refuse_connections;
      res.on('finish', () => this.setFailure(later));
    }
  }

  // --- generation ------------------------------------------------------------------------

  private async generate(kind: 'chat' | 'completion', req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.counters.inference_requests++;
    let body: Record<string, unknown>;
    try {
      const buf = await readBody(req, MAX_BODY);
      const parsed: unknown = JSON.parse(buf.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the body must be a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (err) {
      if (!res.destroyed) this.sendError(res, 400, 'BadRequestError', `invalid request body: ${(err as Error).message}`);
      return;
    }
    if (this.knobs.drain) {
      this.sendError(res, 503, 'ServiceUnavailableError', 'The server is draining and accepts no new requests');
      return;
    }
    const forced = req.headers['x-return-error'];
    if (typeof forced === 'string' && forced) {
      this.sendForcedError(res, Number(forced));
      return;
    }
    if (this.knobs.failure_rate > 0 && this.rng.next() * 100 < this.knobs.failure_rate) {
      const types = this.knobs.failure_types;
      const f = FAILURE_ERRORS[types[this.rng.int(types.length)]!];
      this.counters.injected_errors++;
      this.sendError(res, f.status, f.type, f.message, f.param ?? null);
      return;
    }

    const e = this.engine;
    const model = body.model === undefined ? e.models.keys().next().value! : body.model;
    if (typeof model !== 'string') {
      this.sendError(res, 400, 'BadRequestError', '`model` must be a string', 'model');
      return;
    }
    if (!e.models.has(model)) {
      this.sendError(res, 404, 'NotFoundError', `The model \`${model}\` does not exist.`, 'model');
      return;
    }

    let prompt: number[];
    let echo: string[] | undefined;
    if (kind === 'chat') {
      const messages = body.messages;
      if (!Array.isArray(messages) || messages.length === 0 || !messages.every((m) => m && typeof m === 'object' && typeof (m as ChatMessage).role === 'string')) {
        this.sendError(res, 400, 'BadRequestError', '`messages` must be a non-empty array of {role, content}', 'messages');
        return;
      }
      prompt = tokenize(renderChat(messages as ChatMessage[]));
      if (this.knobs.mode === 'echo') echo = pieces(contentText((messages[messages.length - 1] as ChatMessage).content));
    } else {
      let p = body.prompt;
      if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
      if (typeof p === 'string') {
        prompt = tokenize(p);
        if (this.knobs.mode === 'echo') echo = pieces(p);
      } else if (Array.isArray(p) && p.length > 0 && p.every((x) => Number.isInteger(x))) {
        prompt = p as number[];
        if (this.knobs.mode === 'echo') echo = prompt.map(String);
      } else {
        this.sendError(res, 400, 'BadRequestError', '`prompt` must be a string or an array of token ids (one prompt per request)', 'prompt');
        return;
      }
    }
    if (prompt.length === 0) {
      this.sendError(res, 400, 'BadRequestError', 'The prompt is empty', kind === 'chat' ? 'messages' : 'prompt');
      return;
    }
    const maxTokensRaw = body.max_completion_tokens ?? body.max_tokens;
    if (maxTokensRaw !== undefined && maxTokensRaw !== null && !(Number.isInteger(maxTokensRaw) && (maxTokensRaw as number) >= 1)) {
      this.sendError(res, 400, 'BadRequestError', '`max_tokens` must be an integer >= 1', 'max_tokens');
      return;
    }
    const maxTokens = (maxTokensRaw ?? undefined) as number | undefined;
    if (body.n !== undefined && body.n !== 1) {
      this.sendError(res, 400, 'BadRequestError', 'switchyard-sim supports n = 1 only', 'n');
      return;
    }
    const maxLen = this.profile.maxModelLen;
    if (prompt.length >= maxLen || prompt.length + (maxTokens ?? 0) > maxLen) {
      this.sendError(
        res,
        400,
        'BadRequestError',
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${prompt.length + (maxTokens ?? 0)} tokens ` +
          `(${prompt.length} in the messages, ${maxTokens ?? 0} in the completion). Please reduce the length of the messages or completion.`,
        kind === 'chat' ? 'messages' : 'prompt',
      );
      return;
    }
    if (Math.ceil(prompt.length / e.blockSize) + 1 > e.pool.targetBlocks) {
      this.sendError(res, 400, 'BadRequestError', `The prompt (${prompt.length} tokens) does not fit in the KV cache of this backend`, 'prompt');
      return;
    }
    if (res.destroyed) return;

    const so = (body.stream_options ?? {}) as { include_usage?: unknown; continuous_usage_stats?: unknown };
    const sink = new ResponseSink(this, res, kind, model, body.stream === true, so.include_usage === true, so.continuous_usage_stats === true);
    this.clock.sync(e);
    const r = e.submit({
      model,
      promptTokens: prompt,
      maxTokens,
      ignoreEos: body.ignore_eos === true,
      echoPieces: echo,
      extraDelayMs: this.knobs.stall_first_token_ms,
      sink,
    });
    sink.req = r;
    res.on('close', () => {
      if (sink.ended) return;
      this.clock.sync(e);
      if (e.abort(r)) {
        this.counters.client_disconnects++;
        this.clock.kick();
      }
    });
    this.clock.kick();
  }

  /** Called by a sink when `abort_after_tokens` cuts its generation. */
  cutGeneration(r: EngineRequest): void {
    if (this.engine.abort(r)) this.counters.injected_aborts++;
  }

  private sendForcedError(res: http.ServerResponse, status: number): void {
    const known = Object.values(FAILURE_ERRORS).find((f) => f.status === status);
    this.counters.injected_errors++;
    if (known) this.sendError(res, status, known.type, known.message, known.param ?? null);
    else if (status >= 400 && status <= 599) this.sendError(res, status, 'InjectedError', `Injected error ${status} (X-Return-Error)`);
    else this.sendError(res, 400, 'BadRequestError', 'X-Return-Error must be an HTTP status from 400 to 599');
  }

  sendError(res: http.ServerResponse, status: number, type: string, message: string, param: string | null = null): void {
    if (res.headersSent || res.destroyed) return;
    const body = errorBody(status, type, message, param);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private sendJson(res: http.ServerResponse, status: number, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

// --- responses ---------------------------------------------------------------------------

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/**
 * Turns a request's tokens into its HTTP response. Tokens are buffered and written once per
 * clock tick (flush). SSE chunk text is built from per-request prefixes, not JSON.stringify of
 * whole objects, to keep the per-token cost low.
 */
class ResponseSink implements RequestSink, Flushable {
  req: EngineRequest | undefined;
  /** The response is complete (or was cut): a later 'close' is not a client disconnect. */
  ended = false;
  private buf = '';
  private readonly parts: string[] = [];
  private done = false;
  private cut = false;
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly pre: string;
  private readonly modelJson: string;

  constructor(
    private readonly inst: SimInstance,
    private readonly res: http.ServerResponse,
    private readonly kind: 'chat' | 'completion',
    private readonly model: string,
    private readonly stream: boolean,
    private readonly includeUsage: boolean,
    private readonly continuousUsage: boolean,
  ) {
    this.id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
    this.modelJson = JSON.stringify(model);
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.pre = `data: {"id":"${this.id}","object":"${object}","created":${this.created},"model":${this.modelJson},"choices":[{"index":0,`;
  }

  private usage(r: EngineRequest): string {
    return (
      `{"prompt_tokens":${r.promptLen},"total_tokens":${r.promptLen + r.output},"completion_tokens":${r.output},` +
      `"prompt_tokens_details":{"cached_tokens":${r.cachedTokens}}}`
    );
  }

  token(r: EngineRequest, text: string, finish: FinishReason | null, _t: number): void {
    if (this.stream) {
      const fr = finish ? `"${finish}"` : 'null';
      const usage = this.continuousUsage ? `,"usage":${this.usage(r)}` : '';
      if (this.kind === 'chat') {
        if (r.output === 1) this.buf += `${this.pre}"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${usage}}\n\n`;
        this.buf += `${this.pre}"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":${fr}${finish ? ',"stop_reason":null' : ''}}]${usage}}\n\n`;
      } else {
        this.buf += `${this.pre}"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":${fr},"stop_reason":null}]${usage}}\n\n`;
      }
      if (finish) {
        if (this.includeUsage) {
          const object = this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
          this.buf += `data: {"id":"${this.id}","object":"${object}","created":${this.created},"model":${this.modelJson},"choices":[],"usage":${this.usage(r)}}\n\n`;
        }
        this.buf += 'data: [DONE]\n\n';
      }
    } else {
      this.parts.push(text);
    }
    if (finish) this.done = true;
    else {
      const n = this.inst.knobs.abort_after_tokens;
      if (n > 0 && r.output >= n) {
        this.cut = true;
        this.inst.cutGeneration(r);
      }
    }
    this.inst.clock.markDirty(this);
  }

  dropped(): void {
    this.ended = true; // the simulated crash resets the connection
  }

  flush(): void {
    const res = this.res;
    if (this.ended || res.destroyed) return;
    if (this.stream) {
      if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
      if (this.cut) {
        this.ended = true;
        if (this.inst.knobs.abort_mode === 'error') {
          const err = errorBody(500, 'InternalServerError', 'The generation was aborted (injected failure)');
          res.end(`${this.buf}data: ${err}\n\ndata: [DONE]\n\n`);
        } else if (this.buf) {
          res.write(this.buf, () => res.destroy());
        } else {
          res.destroy();
        }
        this.buf = '';
        return;
      }
      if (this.done) {
        this.ended = true;
        res.end(this.buf);
      } else if (this.buf) {
        res.write(this.buf);
      }
      this.buf = '';
      return;
    }
    if (this.cut) {
      this.ended = true;
      res.destroy();
      return;
    }
    if (!this.done) return;
    this.ended = true;
    const r = this.req!;
    const text = this.parts.join('');
    const choice =
      this.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: r.finishReason, stop_reason: null }
        : { index: 0, text, logprobs: null, finish_reason: r.finishReason, stop_reason: null, prompt_logprobs: null };
    const body = JSON.stringify({
      id: this.id,
      object: this.kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: this.created,
      model: this.model,
      choices: [choice],
      usage: {
        prompt_tokens: r.promptLen,
        total_tokens: r.promptLen + r.output,
        completion_tokens: r.output,
        prompt_tokens_details: { cached_tokens: r.cachedTokens },
      },
      ...(this.kind === 'chat' ? { prompt_logprobs: null } : {}),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** Batches KV events per clock tick into one SSE event `{ts, events:[…]}` for every subscriber. */
class KvEventHub implements Flushable {
  private events: KvEvent[] = [];
  constructor(private readonly subscribers: Set<http.ServerResponse>) {}
  push(ev: KvEvent, clock: SimClock): void {
    this.events.push(ev);
    if (this.events.length === 1) clock.markDirty(this);
  }
  flush(): void {
    if (this.events.length === 0) return;
    const line = `data: ${JSON.stringify({ ts: Date.now() / 1000, events: this.events })}\n\n`;
    this.events = [];
    for (const res of this.subscribers) res.write(line);
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client aborted')));
  });
}
