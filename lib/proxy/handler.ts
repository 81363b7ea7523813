// The life of one proxied request: identify, read what routing needs from the body,
// pick a route, a side of its split and a backend, forward with retries before the first
// byte, then log and count. Everything the request uses comes from the one Generation
// (config + route table) it read at its start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PRIORITIES, type Config, type Priority } from '../config/schema';
import type { RouteTable, CompiledRoute } from '../routing/table';
import type { PoolRuntime } from '../routing/pool';
import type { Backend } from '../routing/backend';
import type { Metrics } from '../metrics/registry';
import type { Decision, SchedulingRequest } from '../scheduling/types';
import {
  ModelNotFoundError,
  NoRouteError,
  PayloadTooLargeError,
  BadRequestError,
  UpstreamTimeoutError,
  RateLimitedError,
  UpstreamStatusError,
  type SwitchyardError,
} from '../errors';
import { acceptRequestId, upstreamRequestHeaders } from './headers';
import { newRequestId } from './request-id';
import { BodyReader, EMPTY_BODY, renderPrompt, rewriteModel, upstreamBody, type BodyOwner, type InspectedBody } from './body';
import { lingerAfterResponse, sendError, sendJson } from './respond';
import { Attempt, type AttemptOutcome, type AttemptOwner } from './forward';
import type { AccessLog } from './access-log';
import { backoffDelay, isRetryable } from '../health/retry';
import type { Lease, AttemptResult, Waiter } from '../routing/pool';

/** One consistent view of config and routes; replaced whole on reload. */
export interface Generation {
  readonly config: Config;
  readonly table: RouteTable;
}

export interface ProxyRuntime {
  readonly generation: Generation;
  readonly metrics: Metrics;
  readonly accessLog: AccessLog | undefined;
  readonly draining: boolean;
  recordExplain(requestId: string, explain: NonNullable<Decision['explain']>): void;
}

type Outcome = 'ok' | 'client_abort' | 'upstream_error' | 'timeout' | 'rejected';

const NO_RETRY = new Set<number>();
const kExchange = Symbol('switchyard.exchange');
type Tracked = ServerResponse & { [kExchange]?: Exchange };

// Response listeners shared by every request (no closures per request).
function onResponseClose(this: Tracked): void {
  if (!this.writableFinished) this[kExchange]?.clientGone();
}
function onResponseDrain(this: Tracked): void {
  this[kExchange]?.current?.resume();
}

export function createRequestHandler(rt: ProxyRuntime) {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    new Exchange(rt, req, res).begin();
  };
}

/**
 * One request, from its head to its access line. It is driven by callbacks, not promises:
 * the body reader, the pool's lease (a promise only when the request has to queue), each
 * Attempt and the back-off timer call back into it, so a request that needs no queue
 * allocates no promise and schedules no microtask.
 *
 * Steps: begin → (BodyReader) bodyRead → route → next → (lease) leased → (Attempt)
 * attemptDone → next again for a retry, or end. Any error before the first response byte
 * goes through `fail`, which answers in the OpenAI shape.
 */
class Exchange implements BodyOwner, AttemptOwner, Waiter {
  readonly id: string;
  readonly start = Date.now();
  private readonly generation: Generation;
  status = 0;
  private bytes = 0;
  private firstByteAt = 0;
  private attempts = 0;
  outcome: Outcome = 'ok';
  private clientClosed = false;
  /** The pool's `timeouts.total` expired: no further attempt. */
  private expired = false;
  private ended = false;
  private route?: CompiledRoute;
  private pool?: PoolRuntime;
  private backend?: Backend;
  current?: Attempt;
  private lease?: Lease;
  private reader?: BodyReader;
  /** Created only when a request has to wait in a queue (rare), aborted when the client leaves. */
  private waitAbort?: AbortController;
  private totalTimer?: NodeJS.Timeout;
  private backoffTimer?: NodeJS.Timeout;
  /** A budgeted retry is running: release the budget when it ends. */
  private retrying = false;
  private drainHooked = false;
  private lastError?: SwitchyardError;
  private path = '/';
  private sreq?: ProxiedRequest;
  private payload: Buffer | AsyncIterable<Buffer> | null = null;
  private overrideLength?: number;
  private replayable = true;
  private explainOn = false;

  constructor(
    private readonly rt: ProxyRuntime,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.id = acceptRequestId(req.headers['x-request-id']) ?? newRequestId();
    this.generation = rt.generation;
    (res as Tracked)[kExchange] = this;
    res.on('close', onResponseClose);
  }

  begin(): void {
    try {
      this.head();
    } catch (err) {
      this.fail(err);
    }
  }

  private head(): void {
    const { req } = this;
    const { config, table } = this.generation;
    const limits = config.limits;
    const path = (this.path = requestPath(req.url ?? '/'));
    checkHost(req);

    if (req.method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models?'))) {
      this.status = 200;
      sendJson(this.res, 200, modelList(table), { 'x-request-id': this.id });
      this.end();
      return;
    }

    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limits.max_body_size) throw new PayloadTooLargeError(limits.max_body_size);
    const hasBody = declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (hasBody) this.reader = new BodyReader(req, limits.inspect_body_size, limits.max_body_size, table.inspectBody, this);
    else this.routeBody(EMPTY_BODY);
  }

  /** BodyOwner: the body (or its first `inspect_body_size` bytes) is in. */
  bodyRead(err: Error | undefined, body: InspectedBody | undefined): void {
    this.reader = undefined;
    if (err) {
      if (this.clientClosed) {
        this.outcome = 'client_abort';
        this.end();
      } else this.fail(err);
      return;
    }
    try {
      this.routeBody(body!);
    } catch (e) {
      this.fail(e);
    }
  }

  private routeBody(body: InspectedBody): void {
    const { req, path } = this;
    const { config, table } = this.generation;
    const limits = config.limits;
    const route = table.match(path, req.headers, body.model);
    if (!route) {
      if (body.model !== undefined && table.models.length > 0 && table.servesPath(path)) throw new ModelNotFoundError(body.model, table.models);
      if (!body.complete && body.model === undefined && table.inspectBody) {
        throw new NoRouteError(`no route for ${req.method} ${path}: no top-level "model" in the first ${limits.inspect_body_size} bytes of the body (limits.inspect_body_size)`);
      }
      throw new NoRouteError(`no route for ${req.method} ${path}`);
    }
    this.route = route;
    const stickyKey = route.sticky ? keyOf(req, body, route.sticky) : undefined;
    const pool = (stickyKey !== undefined ? route.split.pickSticky(stickyKey) : route.split.pick()).target;
    this.pool = pool;
    if (route.limiter) {
      const key = headerText(req, route.rateLimit!.key_header) ?? req.socket.remoteAddress ?? '';
      const verdict = route.limiter.take(key, estimateTokens(body));
      if (!verdict.ok) {
        this.rt.metrics.shedded(pool.name, 'rate_limit');
        throw new RateLimitedError(verdict.limit === 'tokens' ? 'tokens per minute' : 'requests per minute', verdict.retryAfter);
      }
    }

    let payload = upstreamBody(body, req, limits.max_body_size);
    if (route.rewriteModel !== undefined && body.model !== undefined) {
      const head = rewriteModel(body.head, route.rewriteModel);
      if (!head) throw new BadRequestError('`model` must be a top-level string');
      const rewritten: InspectedBody = { ...body, head };
      payload = upstreamBody(rewritten, req, limits.max_body_size + head.length - body.head.length);
      const declaredLength = req.headers['content-length'];
      if (declaredLength !== undefined) this.overrideLength = Number(declaredLength) + head.length - body.head.length;
    }
    this.payload = payload;
    this.replayable = payload === null || Buffer.isBuffer(payload);
    this.explainOn = config.explain.keep > 0 || config.explain.header;
    this.sreq = new ProxiedRequest(this.id, route.rewriteModel ?? body.model, priorityOf(req, route.priority), req, body, pool.config.session);
    const total = pool.config.timeouts.total;
    if (total > 0) this.totalTimer = setTimeout(onTotalTimeout, total, this);
    this.next();
  }

  /** Lease a backend and start an attempt (the first, or a retry after its back-off). */
  next(): void {
    this.backoffTimer = undefined;
    if (this.clientClosed) {
      this.outcome = 'client_abort';
      this.end();
      return;
    }
    if (this.expired) {
      this.fail(this.lastError ?? new UpstreamTimeoutError('total'));
      return;
    }
    let leased: Lease | Promise<Lease>;
    try {
      leased = this.pool!.lease(this.sreq!, this.explainOn, this);
    } catch (err) {
      this.leaseFailed(err);
      return;
    }
    if (leased instanceof Promise) leased.then((l) => this.leased(l), (err: unknown) => this.leaseFailed(err));
    else this.leased(leased);
  }

  /** Waiter: asked only when the request queues, so a request that does not allocates nothing for it. */
  waitSignal(): AbortSignal {
    this.waitAbort ??= new AbortController();
    if (this.clientClosed) this.waitAbort.abort(new Error('client closed'));
    return this.waitAbort.signal;
  }

  private leaseFailed(err: unknown): void {
    if (this.clientClosed) {
      this.outcome = 'client_abort';
      this.end();
    } else if ((err as { status?: number }).status === 429 || !this.lastError) this.fail(err);
    else this.fail(this.lastError);
  }

  private leased(lease: Lease): void {
    const { rt, req, res, pool } = this;
    const { config } = this.generation;
    const { backend, decision } = lease;
    if (this.clientClosed) {
      // Left while the lease was queued: give the slot back untouched.
      pool!.complete(lease, 'cancelled');
      this.outcome = 'client_abort';
      this.end();
      return;
    }
    if (decision.explain) rt.recordExplain(this.id, decision.explain);
    const retries = pool!.config.retries;
    const mayRetry = this.replayable && this.attempts < retries.max;
    // Hold a retryable status back only when the budget could pay for its retry (it is
    // checked again, atomically, when the retry is taken).
    const mayHoldStatus = mayRetry && pool!.retryBudget.active < pool!.retryBudget.limit(pool!.inflight + 1);
    this.attempts++;
    this.backend = backend;
    this.lease = lease;
    const cold = coldStartHold(pool!, backend, this.sreq!.model);
    const { first_byte, idle } = pool!.config.timeouts;
    const attempt = new Attempt(
      res,
      {
        backend,
        method: req.method ?? 'GET',
        path: this.path,
        headers: upstreamRequestHeaders(
          req.rawHeaders,
          req.headers.connection,
          // No upstreamHost: undici writes `host: ${backend.authority}` from the origin
          // (a header of ours would cost a validation and a server-name parse per request).
          { requestId: this.id, clientIp: req.socket.remoteAddress ?? '', proto: 'http', clientHost: req.headers.host },
          this.overrideLength,
        ),
        body: this.payload,
        requestId: this.id,
        firstByteTimeout: Math.max(first_byte, cold),
        idleTimeout: Math.max(idle, cold),
        retryStatuses: mayHoldStatus ? pool!.retryStatuses : NO_RETRY,
      },
      this,
    );
    if (config.explain.header) res.setHeader('x-switchyard-explain', explainHeader(decision, backend.id));
    if (rt.draining) res.setHeader('connection', 'close');
    this.current = attempt;
    attempt.start();
  }

  /** AttemptOwner: the client's buffer is full; resume the upstream on its 'drain'. */
  backpressure(): void {
    if (this.drainHooked) return;
    this.drainHooked = true;
    this.res.on('drain', onResponseDrain);
  }

  /** AttemptOwner: an attempt ended. Finish the request, or retry elsewhere. */
  attemptDone(attempt: Attempt, outcome: AttemptOutcome): void {
    if (attempt !== this.current) return;
    const pool = this.pool!;
    const backend = this.backend!;
    this.current = undefined;
    pool.complete(this.lease!, resultOf(outcome));
    this.lease = undefined;
    if (this.retrying) {
      pool.retryBudget.release();
      this.retrying = false;
    }
    this.firstByteAt = attempt.firstByteAt;
    this.bytes += attempt.bytes;

    if (settle(this.rt, this, pool, backend, outcome)) {
      this.end();
      return;
    }
    const retries = pool.config.retries;
    this.lastError = outcome.type === 'failed' ? outcome.error : undefined;
    const wanted =
      this.replayable &&
      this.attempts < retries.max &&
      !this.clientClosed &&
      !this.expired &&
      (outcome.type === 'retry_status' || (outcome.type === 'failed' && isRetryable(outcome.kind, retries.on)));
    // A refused connection reached no backend, so its retry costs the fleet nothing and
    // does not draw on the budget; every other retry does.
    const free = outcome.type === 'failed' && outcome.kind === 'connect';
    const granted = wanted && (free || pool.retryBudget.tryAcquire(pool.inflight + 1));
    if (!granted) {
      if (outcome.type === 'failed') this.fail(outcome.error);
      // The response was held back for a retry that cannot happen: answer for it.
      else if (outcome.type === 'retry_status') this.fail(new UpstreamStatusError(outcome.status));
      else this.end();
      return;
    }
    this.retrying = !free;
    (this.sreq!.exclude ??= new Set()).add(backend.id);
    this.rt.metrics.retry(pool.name);
    this.backoffTimer = setTimeout(onBackoffDone, backoffDelay(this.attempts, retries), this);
  }

  /** The response's 'close' before it finished: the client went away. */
  clientGone(): void {
    this.clientClosed = true;
    this.current?.clientGone();
    this.waitAbort?.abort(new Error('client closed'));
    this.reader?.abort();
  }

  /** `timeouts.total` expired: abort the running attempt; no further attempt. */
  expire(): void {
    this.expired = true;
    this.current?.abort(new UpstreamTimeoutError('total'));
  }

  /** Answer an error in the OpenAI shape (unless the response started), then end. */
  private fail(err: unknown): void {
    if (this.ended) return;
    // A body left unread on the socket would be parsed as the next request: close it, but
    // without a reset that could cost the client this answer (see lingerAfterResponse).
    const unread = !this.req.complete && !this.res.headersSent;
    this.status = sendError(this.res, err, this.id, this.rt.draining || unread);
    if (unread) lingerAfterResponse(this.req);
    if (this.outcome === 'ok') this.outcome = 'rejected';
    this.end();
  }

  /** Once per request: release what it holds, count it and log it. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.totalTimer);
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    if (this.retrying) {
      this.pool!.retryBudget.release();
      this.retrying = false;
    }
    const { rt } = this;
    const now = Date.now();
    const duration = now - this.start;
    const route = this.route?.name ?? '';
    const pool = this.pool?.name ?? '';
    const ttfb = this.firstByteAt ? this.firstByteAt - this.start : -1;
    rt.metrics.requestDone(route, pool, this.backend?.id ?? '', this.status, duration / 1000, ttfb / 1000);
    rt.accessLog?.write(now, this.req.method, this.req.url, this.id, route, pool, this.backend?.id, this.status, this.bytes, ttfb, duration, this.attempts, this.outcome);
  }
}

/**
 * What the scheduler sees of a request. The session key and the prompt are read once, and
 * only if a plugin asks (most strategies use neither).
 */
class ProxiedRequest implements SchedulingRequest {
  exclude?: Set<string>;
  private rendered?: string | null;
  private session?: string | null;

  constructor(
    readonly requestId: string,
    readonly model: string | undefined,
    readonly priority: Priority,
    private readonly req: IncomingMessage,
    private readonly body: InspectedBody,
    private readonly sessionFrom: KeySource,
  ) {}

  get sessionKey(): string | undefined {
    if (this.session === undefined) this.session = keyOf(this.req, this.body, this.sessionFrom) ?? null;
    return this.session ?? undefined;
  }

  get promptText(): string | undefined {
    if (this.rendered === undefined) this.rendered = renderPrompt(this.body.json) ?? null;
    return this.rendered ?? undefined;
  }
}

function onTotalTimeout(x: Exchange): void {
  x.expire();
}
function onBackoffDone(x: Exchange): void {
  x.next();
}

function resultOf(o: AttemptOutcome): AttemptResult {
  switch (o.type) {
    case 'ok':
    case 'retry_status':
      return o.status;
    case 'failed':
    case 'cut':
      return o.kind;
    case 'client_abort':
      return 'cancelled';
  }
}

/** Record an attempt's result; true when the request is finished. */
function settle(rt: ProxyRuntime, x: Exchange, pool: PoolRuntime, backend: Backend, o: AttemptOutcome): boolean {
  switch (o.type) {
    case 'ok':
      x.status = o.status;
      if (o.status >= 500) rt.metrics.upstreamError(pool.name, backend.id, 'status_5xx');
      return true;
    case 'client_abort':
      x.status = o.status || 499;
      x.outcome = 'client_abort';
      return true;
    case 'cut':
      x.status = o.status;
      x.outcome = o.kind === 'timeout' ? 'timeout' : 'upstream_error';
      rt.metrics.upstreamError(pool.name, backend.id, o.kind);
      return true;
    case 'failed':
      x.outcome = o.kind === 'timeout' ? 'timeout' : 'upstream_error';
      rt.metrics.upstreamError(pool.name, backend.id, o.kind);
      return false;
    case 'retry_status':
      x.status = o.status;
      rt.metrics.upstreamError(pool.name, backend.id, o.status >= 500 ? 'status_5xx' : `status_${o.status}`);
      return false;
  }
}

/** The path (with query) of the request target; an absolute-form target keeps only its path. */
export function requestPath(url: string): string {
  if (url.startsWith('/')) return url;
  if (url === '*') return url;
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    throw new BadRequestError('invalid request target');
  }
}

/** Where a session or sticky key is read from; header names are lower-cased by the config schema. */
interface KeySource {
  header?: string;
  cookie?: string;
  body?: 'user';
}

function keyOf(req: IncomingMessage, body: InspectedBody, from: KeySource | undefined): string | undefined {
  if (!from) return undefined;
  if (from.header) {
    const v = req.headers[from.header];
    if (typeof v === 'string' && v) return v;
  }
  if (from.cookie) {
    const v = cookieValue(req.headers.cookie, from.cookie);
    if (v) return v;
  }
  if (from.body === 'user' && body.user) return body.user;
  return undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function modelList(table: RouteTable) {
  const created = Math.floor(table.createdAt / 1000);
  return { object: 'list', data: table.models.map((id) => ({ id, object: 'model', created, owned_by: 'switchyard' })) };
}

const PRIORITY_SET: ReadonlySet<string> = new Set(PRIORITIES);

/** `x-priority: critical|standard|sheddable` overrides the route's default. */
function priorityOf(req: IncomingMessage, fallback: Priority): Priority {
  const v = req.headers['x-priority'];
  return typeof v === 'string' && PRIORITY_SET.has(v) ? (v as Priority) : fallback;
}

/** `name` is lower-case (the config schema lower-cases header names). */
function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Tokens a request is charged against `tokens_per_minute` before it runs: its output
 * budget (`max_tokens` / `max_completion_tokens`) plus the prompt at ~4 bytes a token.
 * An estimate; the proxy never parses responses.
 */
function estimateTokens(body: InspectedBody): number {
  const j = body.json;
  const out = j ? Number(j.max_completion_tokens ?? j.max_tokens ?? 0) || 0 : 0;
  return out + Math.ceil(body.head.length / 4);
}

/**
 * Extra time to allow a backend known not to have the model loaded: it will load it first
 * (tens of seconds), so the request is held up to `cold_start.hold_timeout` for its head
 * and its first chunk. 0 when the model is loaded, unknown, or the signals are stale.
 */
function coldStartHold(pool: PoolRuntime, b: Backend, model: string | undefined): number {
  const loaded = b.signals.loadedModels;
  if (model === undefined || loaded === undefined || loaded.has(model) || !b.signalsFresh(Date.now())) return 0;
  return pool.config.cold_start.hold_timeout;
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host field line; anything else is
 * a 400 (two Host lines are a classic smuggling and cache-poisoning vector).
 */
export function checkHost(req: IncomingMessage): void {
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) throw new BadRequestError('more than one Host header');
  if (hosts === 0 && req.httpVersionMinor >= 1) throw new BadRequestError('missing Host header');
}

/** `picked=ID; score=S; profile=P; candidates=N` (score and profile when recorded). */
function explainHeader(decision: Decision, id: string): string {
  const ex = decision.explain;
  if (!ex) return `picked=${id}`;
  const total = ex.scored.find((s) => s.id === id)?.total;
  return `picked=${id}; score=${total === undefined ? 'n/a' : total.toFixed(3)}; profile=${ex.profile}; candidates=${ex.candidates}`;
}
