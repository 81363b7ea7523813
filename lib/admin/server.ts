// The admin API, on its own listener. Loopback by default; binding elsewhere requires a
// bearer token (SWITCHYARD_ADMIN_TOKEN), compared in constant time. Mutations are POST
// only (a GET gets 405), and there is no CORS: a browser page cannot drive it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { MethodNotAllowedError, NoRouteError, UnauthorizedError, toSwitchyardError } from '../errors';
import { sendJson } from '../proxy/respond';

/** What the admin API needs from the daemon. */
export interface AdminTarget {
  healthy(): boolean;
  status(): unknown;
  routes(): unknown;
  reload(): { ok: true; hash: string } | { ok: false; problems: unknown[] };
  setDrain(pool: string, backend: string, draining: boolean): boolean;
  metricsText(): Promise<{ contentType: string; body: string }>;
  explain(requestId: string | null): unknown | undefined;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** Throws when the bind address would expose the admin API without a token. */
export function checkAdminBind(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new Error(`refusing to bind the admin API to non-loopback address ${host} without SWITCHYARD_ADMIN_TOKEN`);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

const DRAIN_PATH = /^\/pools\/([^/]+)\/backends\/([^/]+)\/(drain|undrain)$/;

export function createAdminServer(target: AdminTarget, token: string | undefined): Server {
  const expected = token ? digest(token) : undefined;
  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    return m !== null && timingSafeEqual(digest(m[1]!.trim()), expected);
  };

  return createServer({ maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    void route(req, res).catch((err) => {
      const e = toSwitchyardError(err);
      sendJson(res, e.status, e.toJSON(), e.headers);
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    req.resume(); // no endpoint reads a body
    // Liveness stays open to health checkers (systemd, Consul) that carry no token.
    if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
      const ok = target.healthy();
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable' });
    }
    if (!authorized(req)) {
      const e = new UnauthorizedError();
      return sendJson(res, 401, e.toJSON(), { 'www-authenticate': 'Bearer' });
    }
    const drain = DRAIN_PATH.exec(path);
    const isMutation = path === '/reload' || drain !== null;
    if (isMutation && method !== 'POST') throw new MethodNotAllowedError('POST');
    if (!isMutation && method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError('GET');

    if (drain) {
      const [, pool, backend, verb] = drain;
      const ok = target.setDrain(decodeURIComponent(pool!), decodeURIComponent(backend!), verb === 'drain');
      if (!ok) throw new NoRouteError(`no backend ${decodeURIComponent(backend!)} in pool ${decodeURIComponent(pool!)}`);
      return sendJson(res, 200, { pool: decodeURIComponent(pool!), backend: decodeURIComponent(backend!), draining: verb === 'drain' });
    }
    switch (path) {
      case '/status':
        return sendJson(res, 200, target.status());
      case '/routes':
        return sendJson(res, 200, target.routes());
      case '/reload': {
        const r = target.reload();
        return sendJson(res, r.ok ? 200 : 400, r);
      }
      case '/metrics': {
        const m = await target.metricsText();
        res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(m.body) });
        res.end(m.body);
        return;
      }
      case '/explain': {
        const found = target.explain(url.searchParams.get('request_id'));
        if (found === undefined) throw new NoRouteError('no routing decision recorded for that request id');
        return sendJson(res, 200, found);
      }
      default:
        throw new NoRouteError(`no admin endpoint ${path}`);
    }
  }
}
