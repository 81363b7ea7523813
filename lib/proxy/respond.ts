// Answers the proxy makes itself: OpenAI-style errors and small JSON documents.
import type { ServerResponse } from 'node:http';
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
