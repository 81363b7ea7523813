// Header rewriting between the client and the upstream (RFC 9110 §7.6.1).
// Both directions drop hop-by-hop fields and any field the Connection header names.
// Upstream requests get a Host for the backend, X-Forwarded-* and x-request-id; the
// upstream address itself never comes from a request header.
import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop fields, plus those undici refuses to send itself (expect) and Host (rewritten). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'http2-settings',
  // Client-supplied forwarding facts we do not vouch for; X-Forwarded-* replace them.
  'forwarded',
  'x-real-ip',
  'x-forwarded-port',
]);

const RESPONSE_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-request-id',
]);

/** Field names listed in a Connection header value ("close, x-foo"), lower-cased. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  // The usual values name no field: skip the split (every keep-alive response has one).
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let tokens: Set<string> | undefined;
  for (const raw of text.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive') (tokens ??= new Set()).add(t);
  }
  return tokens;
}

export interface ForwardContext {
  requestId: string;
  /** Peer address of the client connection. */
  clientIp: string;
  /** "http" (we terminate plain HTTP/1.1). */
  proto: string;
  /** Host the client asked for, for X-Forwarded-Host. */
  clientHost: string | undefined;
  /**
   * "host:port" of the chosen backend, or undefined when the HTTP client writes Host from
   * the backend's origin itself (undici does: `url.host`, the same value).
   */
  upstreamHost?: string;
}

/**
 * Build the upstream request headers from the client's raw header list (preserving case
 * and order, and duplicates other than the stripped ones). `rawHeaders` alternates
 * name, value as Node gives it.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | string[] | undefined,
  ctx: ForwardContext,
  overrideContentLength?: number,
): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  let xff: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? rawHeaders[i + 1]! : `${xff}, ${rawHeaders[i + 1]!}`;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (overrideContentLength !== undefined && lower === 'content-length') continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  if (overrideContentLength !== undefined) out.push('content-length', String(overrideContentLength));
  if (ctx.upstreamHost !== undefined) out.push('host', ctx.upstreamHost);
  out.push(
    'x-forwarded-for', xff ? `${xff}, ${ctx.clientIp}` : ctx.clientIp,
    'x-forwarded-proto', ctx.proto,
    'x-request-id', ctx.requestId,
  );
  if (ctx.clientHost) out.push('x-forwarded-host', ctx.clientHost);
  return out;
}

/**
 * Response headers for the client from undici's parsed header object: hop-by-hop removed,
 * our x-request-id set. Values stay as undici gives them (arrays for repeated fields).
 */
export function clientResponseHeaders(headers: IncomingHttpHeaders, requestId: string): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || RESPONSE_HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  out['x-request-id'] = requestId;
  return out;
}

const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** The client's x-request-id if it is a sane token, else undefined (a new one is generated). */
export function acceptRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}
