// Request parsing and response writing shared by every endpoint, following agent/http.go:
// the path is URL-decoded before routing, errors are text/plain reasons, JSON is minimised
// unless `?pretty` is present, and every response names the default ACL policy.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answered as `status` with a text/plain reason, as agent/http.go handleErr does. */
export class ConsulError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Request {
  method: string;
  /** Decoded path, e.g. `/v1/kv/a/b` for `/v1/kv/a%2Fb`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Fires when the client goes away before the answer. */
  signal: AbortSignal;
}

/** What a handler answers. Exactly one body kind; none means an empty body. */
export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  raw?: { body: Buffer; contentType: string };
  headers?: Record<string, string>;
}

export function parseRequest(req: IncomingMessage, body: Buffer, signal: AbortSignal): Request {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q >= 0 ? url.slice(0, q) : url;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new ConsulError(400, `Invalid URL path: ${rawPath}`);
  }
  if (path.includes('\n')) throw new ConsulError(400, 'Invalid URL path: contains a linefeed');
  return {
    method: req.method ?? 'GET',
    path,
    query: new URLSearchParams(q >= 0 ? url.slice(q + 1) : ''),
    headers: req.headers,
    body,
    signal,
  };
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function writeReply(res: ServerResponse, reply: Reply, base: Record<string, string>, pretty: boolean): void {
  const headers: Record<string, string> = { ...base, ...reply.headers };
  let body: Buffer | undefined;
  if (reply.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = Buffer.from(pretty ? JSON.stringify(reply.json, null, 4) + '\n' : JSON.stringify(reply.json));
  } else if (reply.text !== undefined) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    body = Buffer.from(reply.text);
  } else if (reply.raw) {
    headers['Content-Type'] = reply.raw.contentType;
    body = reply.raw.body;
  }
  headers['Content-Length'] = String(body?.length ?? 0);
  res.writeHead(reply.status ?? 200, headers);
  res.end(body);
}

export function errorReply(err: ConsulError): Reply {
  return { status: err.status, text: err.message, headers: err.headers };
}

// ---- query parameter helpers ----

/** Go strconv.ParseBool, with a bare flag meaning true (health_endpoint.go getBoolQueryParam). */
export function boolParam(query: URLSearchParams, name: string, invalid: string): boolean | undefined {
  if (!query.has(name)) return undefined;
  const v = query.get(name)!;
  if (v === '' || ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new ConsulError(400, invalid);
}

/** strconv.ParseUint: plain decimal digits only. */
export function uintParam(query: URLSearchParams, name: string, invalid: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v) || BigInt(v) > 0xffffffffffffffffn) throw new ConsulError(400, invalid);
  return Number(v);
}

/** Parses a JSON body; Consul's decode errors are 400 `Request decode failed: …`. */
export function jsonBody(req: Request): unknown {
  const text = req.body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConsulError(400, `Request decode failed: ${(err as Error).message}`);
  }
}
