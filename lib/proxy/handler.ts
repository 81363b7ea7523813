// The life of one proxied request: identify, read what routing needs from the body,
// pick a route, a side of its split and a backend, forward with retries before the first
// byte, then log and count. Everything the request uses comes from the one Generation
// (config + route table) it read at its start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { PRIORITIES, type Config, type Priority } from '../config/schema';
import type { RouteTable, CompiledRoute } from '../routing/table';
import type { PoolRuntime } from '../routing/pool';
import type { Backend } from '../routing/backend';
import type { Metrics } from '../metrics/registry';
import type { Decision, SchedulingRequest } from '../scheduling/types';
import {
  ModelNotFoundError,
  NoBackendError,
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
import { EMPTY_BODY, inspectBody, renderPrompt, rewriteModel, upstreamBody, type InspectedBody } from './body';
import { sendError, sendJson } from './respond';
import { Attempt, type AttemptOutcome } from './forward';
import { backoffDelay, isRetryable } from '../health/retry';
import type { Lease, AttemptResult } from '../routing/pool';

/** One consistent view of config and routes; replaced whole on reload. */
export interface Generation {
  readonly config: Config;
  readonly table: RouteTable;
}

export interface ProxyRuntime {
  readonly generation: Generation;
  readonly metrics: Metrics;
  readonly accessLog: Logger | undefined;
  readonly draining: boolean;
  recordExplain(requestId: string, explain: NonNullable<Decision['explain']>): void;
}

type Outcome = 'ok' | 'client_abort' | 'upstream_error' | 'timeout' | 'rejected';

/** Mutable record of one request, for the access log and metrics. */
interface Exchange {
  id: string;
  start: number;
  route?: CompiledRoute;
  pool?: PoolRuntime;
  backend?: Backend;
  status: number;
  bytes: number;
  firstByteAt: number;
  attempts: number;
  outcome: Outcome;
  current?: Attempt;
  clientClosed: boolean;
  /** Created only when a request has to wait in a queue (rare), aborted when the client leaves. */
  waitAbort?: AbortController;
  /** The pool's `timeouts.total` expired: no further attempt. */
  expired: boolean;
}

const NO_RETRY = new Set<number>();

export function createRequestHandler(rt: ProxyRuntime) {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const x: Exchange = {
      id: acceptRequestId(req.headers['x-request-id']) ?? newRequestId(),
      start: Date.now(),
      status: 0,
      bytes: 0,
      firstByteAt: 0,
      attempts: 0,
      outcome: 'ok',
      clientClosed: false,
      expired: false,
    };
    res.on('close', () => {
      if (!res.writableFinished) {
        x.clientClosed = true;
        x.current?.clientGone();
        x.waitAbort?.abort(new Error('client closed'));
      }
    });
    res.on('drain', () => x.current?.resume());
    proxy(rt, req, res, x).then(
      () => finish(rt, req, x),
      (err) => {
        // A body left unread on the socket would be parsed as the next request: close it.
        x.status = sendError(res, err, x.id, rt.draining || !req.complete);
        if (x.outcome === 'ok') x.outcome = 'rejected';
        finish(rt, req, x);
      },
    );
  };
}

async function proxy(rt: ProxyRuntime, req: IncomingMessage, res: ServerResponse, x: Exchange): Promise<void> {
  const { config, table } = rt.generation;
  const limits = config.limits;
  const path = requestPath(req.url ?? '/');
  checkHost(req);

  if (req.method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models?'))) {
    x.status = 200;
    sendJson(res, 200, modelList(table), { 'x-request-id': x.id });
    return;
  }

  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.max_body_size) throw new PayloadTooLargeError(limits.max_body_size);
  const hasBody = declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
  let body: InspectedBody = EMPTY_BODY;
  if (hasBody) {
    try {
      body = await inspectBody(req, limits.inspect_body_size, limits.max_body_size, table.inspectBody);
    } catch (err) {
      if (x.clientClosed) {
        x.outcome = 'client_abort';
        return;
      }
      throw err;
    }
  }

  const route = table.match(path, req.headers, body.model);
  if (!route) {
    if (body.model !== undefined && table.models.length > 0 && table.servesPath(path)) throw new ModelNotFoundError(body.model, table.models);
    if (!body.complete && body.model === undefined && table.inspectBody) {
      throw new NoRouteError(`no route for ${req.method} ${path}: no top-level "model" in the first ${limits.inspect_body_size} bytes of the body (limits.inspect_body_size)`);
    }
    throw new NoRouteError(`no route for ${req.method} ${path}`);
  }
  x.route = route;
  const stickyKey = route.sticky ? keyOf(req, body, route.sticky) : undefined;
  const pool = (stickyKey !== undefined ? route.split.pickSticky(stickyKey) : route.split.pick()).target;
  x.pool = pool;
  if (route.limiter) {
    const key = headerText(req, route.rateLimit!.key_header) ?? req.socket.remoteAddress ?? '';
    const verdict = route.limiter.take(key, estimateTokens(body));
    if (!verdict.ok) {
      rt.metrics.shedded(pool.name, 'rate_limit');
      throw new RateLimitedError(verdict.limit === 'tokens' ? 'tokens per minute' : 'requests per minute', verdict.retryAfter);
    }
  }

  let payload = upstreamBody(body, req, limits.max_body_size);
  let overrideLength: number | undefined;
  if (route.rewriteModel !== undefined && body.model !== undefined) {
    const head = rewriteModel(body.head, route.rewriteModel);
    if (!head) throw new BadRequestError('`model` must be a top-level string');
    const rewritten: InspectedBody = { ...body, head };
    payload = upstreamBody(rewritten, req, limits.max_body_size + head.length - body.head.length);
    const declaredLength = req.headers['content-length'];
    if (declaredLength !== undefined) overrideLength = Number(declaredLength) + head.length - body.head.length;
  }

  const sreq: SchedulingRequest & { exclude?: Set<string> } = {
    requestId: x.id,
    model: route.rewriteModel ?? body.model,
    sessionKey: keyOf(req, body, pool.config.session),
    get promptText() {
      return renderPrompt(body.json);
    },
    priority: priorityOf(req, route.priority),
  };
  await forwardWithRetries(rt, req, res, x, pool, sreq, payload, path, overrideLength);
}

async function forwardWithRetries(
  rt: ProxyRuntime,
  req: IncomingMessage,
  res: ServerResponse,
  x: Exchange,
  pool: PoolRuntime,
  sreq: SchedulingRequest & { exclude?: Set<string> },
  payload: Buffer | AsyncIterable<Buffer> | null,
  path: string,
  overrideLength: number | undefined,
): Promise<void> {
  const { config } = rt.generation;
  const retries = pool.config.retries;
  const replayable = payload === null || Buffer.isBuffer(payload);
  const explainOn = config.explain.keep > 0 || config.explain.header;
  let lastError: SwitchyardError | undefined;

  const waitSignal = () => {
    x.waitAbort ??= new AbortController();
    if (x.clientClosed) x.waitAbort.abort(new Error('client closed'));
    return x.waitAbort.signal;
  };
  let retrying = false;
  const total = pool.config.timeouts.total;
  const totalTimer =
    total > 0
      ? setTimeout(() => {
          x.expired = true;
          x.current?.abort(new UpstreamTimeoutError('total'));
        }, total)
      : undefined;
  try {
    for (;;) {
      if (x.clientClosed) {
        x.outcome = 'client_abort';
        return;
      }
      if (x.expired) throw lastError ?? new UpstreamTimeoutError('total');
      let lease: Lease;
      try {
        const leased = pool.lease(sreq, explainOn, waitSignal);
        lease = leased instanceof Promise ? await leased : leased;
      } catch (err) {
        if (x.clientClosed) {
          x.outcome = 'client_abort';
          return;
        }
        if ((err as { status?: number }).status === 429 || !lastError) throw err;
        throw lastError;
      }
      const { backend, decision } = lease;
      if (decision.explain) rt.recordExplain(x.id, decision.explain);

      const mayRetry = replayable && x.attempts < retries.max;
      // Hold a retryable status back only when the budget could pay for its retry (it is
      // checked again, atomically, when the retry is taken).
      const mayHoldStatus = mayRetry && pool.retryBudget.active < pool.retryBudget.limit(pool.inflight + 1);
      x.attempts++;
      x.backend = backend;
      const attempt = new Attempt(res, {
        backend,
        method: req.method ?? 'GET',
        path,
        headers: upstreamRequestHeaders(
          req.rawHeaders,
          req.headers.connection,
          {
            requestId: x.id,
            clientIp: req.socket.remoteAddress ?? '',
            proto: 'http',
            clientHost: req.headers.host,
            upstreamHost: backend.authority,
          },
          overrideLength,
        ),
        body: payload,
        requestId: x.id,
        ...attemptTimeouts(pool, backend, sreq.model),
        retryStatuses: mayHoldStatus ? pool.retryStatuses : NO_RETRY,
      });
      if (config.explain.header) res.setHeader('x-switchyard-explain', explainHeader(decision, backend.id));
      if (rt.draining) res.setHeader('connection', 'close');
      x.current = attempt;
      attempt.start();
      const outcome = await attempt.done;
      x.current = undefined;
      pool.complete(lease, resultOf(outcome));
      if (retrying) {
        pool.retryBudget.release();
        retrying = false;
      }
      x.firstByteAt = attempt.firstByteAt;
      x.bytes += attempt.bytes;

      if (settle(rt, x, pool, backend, outcome)) return;
      lastError = outcome.type === 'failed' ? outcome.error : undefined;
      const wanted =
        mayRetry &&
        !x.clientClosed &&
        !x.expired &&
        (outcome.type === 'retry_status' || (outcome.type === 'failed' && isRetryable(outcome.kind, retries.on)));
      // A refused connection reached no backend, so its retry costs the fleet nothing and
      // does not draw on the budget; every other retry does.
      const free = outcome.type === 'failed' && outcome.kind === 'connect';
      const granted = wanted && (free || pool.retryBudget.tryAcquire(pool.inflight + 1));
      if (!granted) {
        if (outcome.type === 'failed') throw outcome.error;
        // The response was held back for a retry that cannot happen: answer for it.
        if (outcome.type === 'retry_status') throw new UpstreamStatusError(outcome.status);
        return;
      }
      retrying = !free;
      (sreq.exclude ??= new Set()).add(backend.id);
      rt.metrics.retry(pool.name);
      await sleep(backoffDelay(x.attempts, retries));
    }
  } finally {
    clearTimeout(totalTimer);
    if (retrying) pool.retryBudget.release();
  }
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

function finish(rt: ProxyRuntime, req: IncomingMessage, x: Exchange): void {
  const duration = Date.now() - x.start;
  const route = x.route?.name ?? '';
  const pool = x.pool?.name ?? '';
  const ttfb = x.firstByteAt ? x.firstByteAt - x.start : undefined;
  rt.metrics.requestDone(route, pool, x.backend?.id ?? '', x.status, duration / 1000, ttfb === undefined ? undefined : ttfb / 1000);
  rt.accessLog?.info({
    req_id: x.id,
    method: req.method,
    path: req.url,
    route,
    pool,
    backend: x.backend?.id,
    status: x.status,
    bytes: x.bytes,
    ttfb_ms: ttfb,
    duration_ms: duration,
    attempts: x.attempts,
    outcome: x.outcome,
  });
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

function keyOf(req: IncomingMessage, body: InspectedBody, from: { header?: string; cookie?: string; body?: 'user' } | undefined): string | undefined {
  if (!from) return undefined;
  if (from.header) {
    const v = req.headers[from.header.toLowerCase()];
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

function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
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
 * An attempt's timeouts. A backend known not to have the model loaded will load it first
 * (tens of seconds), so the request is held up to `cold_start.hold_timeout` for its head
 * and its first chunk.
 */
function attemptTimeouts(pool: PoolRuntime, b: Backend, model: string | undefined): { firstByteTimeout: number; idleTimeout: number } {
  const { first_byte, idle } = pool.config.timeouts;
  const loaded = b.signals.loadedModels;
  if (model === undefined || loaded === undefined || loaded.has(model) || !b.signalsFresh(Date.now())) {
    return { firstByteTimeout: first_byte, idleTimeout: idle };
  }
  const hold = pool.config.cold_start.hold_timeout;
  return { firstByteTimeout: Math.max(first_byte, hold), idleTimeout: Math.max(idle, hold) };
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
