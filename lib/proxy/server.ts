// The client-facing HTTP/1.1 listener. Switchyard is the front of the fleet, so Node's
// server limits are set explicitly (Node's docs: they "must be set … without a reverse
// proxy in front"): strict parser, header size (431), headers timeout against slowloris
// (408, checked every second so the limit holds within about a second), request timeout,
// keep-alive timeout and a connection cap. A request the parser rejects is answered and
// the connection closed; nothing of it is forwarded.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/schema';
import { BadRequestError, HeadersTooLargeError, RequestTimeoutError } from '../errors';
import { sendRawError } from './respond';
import { newRequestId } from './request-id';
import { createRequestHandler, type ProxyRuntime } from './handler';
import { createUpgradeHandler } from './websocket';

export function createProxyServer(rt: ProxyRuntime, limits: Config['limits']): Server {
  const handle = createRequestHandler(rt);
  const server = createServer(
    {
      insecureHTTPParser: false,
      maxHeaderSize: limits.max_header_size,
      headersTimeout: limits.headers_timeout,
      requestTimeout: limits.request_timeout,
      keepAliveTimeout: limits.keep_alive_timeout,
      connectionsCheckingInterval: 1000,
      // Checked by the handler instead, to answer in the OpenAI error shape.
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      noDelay: true,
    },
    handle,
  );
  server.maxConnections = limits.max_connections;
  server.on('upgrade', createUpgradeHandler(rt, handle));
  server.on('connect', (_req, socket: Socket) => sendRawError(socket, new BadRequestError('CONNECT is not supported'), newRequestId()));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A response already started on this socket cannot be followed by an error; otherwise
    // (a bad head, or a bad or slow body after the head was accepted) answer, then close.
    const current = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent) {
      socket.destroy();
      return;
    }
    sendRawError(socket, clientErrorFor(err), newRequestId());
  });
  return server;
}

function clientErrorFor(err: NodeJS.ErrnoException) {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HeadersTooLargeError();
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RequestTimeoutError();
    default:
      return new BadRequestError(`malformed HTTP request (${err.code ?? 'parse error'})`);
  }
}
