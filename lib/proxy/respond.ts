// Answers the proxy makes itself: OpenAI-style errors and small JSON documents.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { toSwitchyardError } from '../errors';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/** Answer an error in the OpenAI shape, unless a response was already started. */
export function sendError(res: ServerResponse, err: unknown, requestId: string, close = false): number {
  const e = toSwitchyardError(err);
  if (res.headersSent || res.destroyed) return e.status;
  const headers: Record<string, string> = { 'x-request-id': requestId, ...e.headers };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  if (close) headers.connection = 'close';
  sendJson(res, e.status, e.toJSON(), headers);
  return e.status;
}

/** How long a connection closed after an early answer keeps reading what the client still sends. */
export const LINGER_MS = 2_000;

/**
 * Close the connection after this response without resetting it, when the request's body
 * was not read to its end (an early error). RFC 9112 §9.6: closing a socket with unread
 * data makes the kernel send a reset, and a client still sending its body then often loses
 * the response with it: undici reports EPIPE instead of the 413. So, as nginx's
 * lingering_close does, the connection half-closes after the response (our FIN), goes on
 * reading and dropping the rest of the body, and closes when the client does, or after
 * LINGER_MS at the latest. The response must carry `connection: close`: Node then calls
 * `destroySoon()` once it is written, which this replaces for the one socket (Node has no
 * lingering close of its own).
 */
export function lingerAfterResponse(req: IncomingMessage): void {
  if (req.socket.destroyed) return;
  req.resume(); // drop the rest of the body as it arrives (no 'data' listener is left)
  req.socket.destroySoon = lingeringDestroySoon;
}

function lingeringDestroySoon(this: Socket): void {
  if (this.writable) this.end();
  // The client's FIN ends it sooner (the server's 'end' handler destroys the socket); a
  // destroy after that is a no-op, and the timer is unref'd, so nothing needs clearing.
  setTimeout(destroySocket, LINGER_MS, this).unref();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/**
 * Answer on a raw socket (parser errors, refused upgrades), then close it: the request
 * was not understood, so the connection cannot be trusted for another one.
 */
export function sendRawError(socket: Socket, err: unknown, requestId?: string): void {
  const e = toSwitchyardError(err);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const payload = JSON.stringify(e.toJSON());
  const lines = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(payload)}`,
    'connection: close',
  ];
  if (requestId) lines.push(`x-request-id: ${requestId}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${payload}`);
}
