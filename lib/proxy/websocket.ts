// WebSocket (HTTP/1.1 Upgrade) proxying. The handshake is routed like a request (path and
// headers; there is no body to read) and forwarded with undici's upgrade(); after the
// backend's 101 the two sockets are piped both ways, so frames, close codes and
// backpressure pass through untouched.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { BadRequestError, NoRouteError, classifyUpstreamError } from '../errors';
import { acceptRequestId, upstreamRequestHeaders } from './headers';
import { newRequestId } from './request-id';
import { sendRawError } from './respond';
import { checkHost, requestPath, type ProxyRuntime } from './handler';
import type { AttemptResult } from '../routing/pool';

/** Written by us in the 101 head; the rest of the backend's handshake headers pass through. */
const HANDSHAKE_SKIP = new Set(['connection', 'upgrade', 'x-request-id']);

export function createUpgradeHandler(rt: ProxyRuntime, serveHttp: (req: IncomingMessage, res: ServerResponse) => void) {
  return function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const client = socket as Socket;
    const requestId = acceptRequestId(req.headers['x-request-id']) ?? newRequestId();
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      // Any other upgrade (e.g. `h2c`, what `curl --http2` offers) is declined, as RFC 9110
      // §7.8 allows: the request is served as HTTP/1.1 on this connection, then it closes.
      // Node has stopped parsing the connection, so only a request without a body can be.
      if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined || head.length > 0) {
        sendRawError(client, new BadRequestError('a request body cannot follow a non-WebSocket Upgrade'), requestId);
        return;
      }
      const res = new ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(client);
      res.once('finish', () => client.end());
      serveHttp(req, res);
      return;
    }
    void upgrade(rt, req, client, head, requestId).catch((err) => sendRawError(client, err, requestId));
  };
}

async function upgrade(rt: ProxyRuntime, req: IncomingMessage, client: Socket, head: Buffer, requestId: string): Promise<void> {
  const { table } = rt.generation;
  const path = requestPath(req.url ?? '/');
  checkHost(req);
  const route = table.match(path, req.headers, undefined);
  if (!route) throw new NoRouteError(`no route for WebSocket ${path}`);
  const pool = route.split.pick().target;
  const lease = await pool.lease({ requestId, priority: route.priority }, false);
  const backend = lease.backend;
  let result: AttemptResult = 'cancelled';
  let released = false;
  const release = () => {
    if (!released) {
      released = true;
      pool.complete(lease, result);
    }
  };
  client.once('close', release);
  let upstream: Duplex;
  let headers: Record<string, string | string[] | undefined>;
  try {
    ({ socket: upstream, headers } = await backend.dispatcher.upgrade({
      path,
      method: 'GET',
      protocol: 'websocket',
      headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
        requestId,
        clientIp: req.socket.remoteAddress ?? '',
        proto: 'http',
        clientHost: req.headers.host,
        upstreamHost: backend.authority,
      }),
    }));
  } catch (err) {
    const { kind, error } = classifyUpstreamError(err);
    result = kind;
    release();
    rt.metrics.upstreamError(pool.name, backend.id, kind);
    throw error;
  }
  result = 101;
  if (client.destroyed) {
    upstream.destroy();
    release();
    return;
  }
  let response = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HANDSHAKE_SKIP.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) response += `${name}: ${v}\r\n`;
  }
  response += `x-request-id: ${requestId}\r\n\r\n`;
  client.write(response);
  if (head.length > 0) upstream.write(head);
  client.setNoDelay(true);
  // A clean close on one side ends the other after what is buffered is flushed (the pipe
  // forwards the close frame first); an error tears both down.
  upstream.on('error', () => client.destroy()).on('close', () => client.end());
  client.on('error', () => upstream.destroy()).on('close', () => upstream.end());
  upstream.pipe(client);
  client.pipe(upstream);
  rt.metrics.requestDone(route.name, pool.name, backend.id, 101, 0, -1);
}
