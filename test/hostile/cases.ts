// The hostile-input table shared by test/hostile/*.test.ts: raw requests (request smuggling
// in its CL.TE / TE.CL / duplicate-length / obs-fold / bad-chunk / bare-CR-LF forms, the
// http-garden payloads, oversized heads and bodies, slowloris, CONNECT, absolute-form and
// asterisk-form targets, hop-by-hop and forwarded-header spoofing) with what the client must
// get back and what the backend may see: nothing at all, or exactly the sanitized request.
//
// Anchors: RFC 9112 §3.2, §5.2, §6.1, §6.3, §7.1; RFC 9110 §7.6.1; llhttp strict mode
// (test/request/*.md); http-garden TROPHIES.md (`\r\n\rX`, chunk-line `\rX`); HAProxy
// `timeout http-request` (408); shared/reference/reliability.md §4 and §7.
import type { Recorded } from '../support/backend';

/** Limits of the daemon the table runs against (small, so that the cases stay small). */
export const LIMITS = {
  max_header_size: '4KiB',
  max_body_size: '1KiB',
  headers_timeout: '1s',
  request_timeout: '2s',
};
export const HEADERS_TIMEOUT_MS = 1000;
export const REQUEST_TIMEOUT_MS = 2000;
/** Node checks both timeouts every connectionsCheckingInterval (1 s in lib/proxy/server.ts). */
export const CHECK_INTERVAL_MS = 1000;

export interface Ctx {
  /** Port of the configured backend. */
  backendPort: number;
  /** Port of a backend that is in no pool: a request naming it must not reach it. */
  otherPort: number;
}

/** This final status (and the OpenAI error code, when given), then the server closes (within `within` ms). */
export interface Reply {
  status: number;
  code?: string;
  within?: number;
}

export interface HostileCase {
  name: string;
  bytes: (c: Ctx) => string | Buffer;
  /** Keep writing this byte every `everyMs` after `bytes` (slowloris). */
  trickle?: { byte: string; everyMs: number };
  reply: Reply;
  /**
   * 'nothing': zero bytes reach either backend. Otherwise the check of the one request the
   * configured backend got (the other backend must still get nothing).
   */
  upstream: 'nothing' | ((got: Recorded, c: Ctx) => Record<string, unknown>);
  /** Also expected before the final response, e.g. 100 Continue. */
  interim?: number[];
}

const H = 'Host: api.example\r\n';
const path = (name: string) => `/v1/hostile/${name}`;

/** Field names the proxy itself always adds upstream (undici adds `connection`). */
export const PROXY_ADDED = ['host', 'connection', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id', 'x-forwarded-host'];

function names(got: Recorded): string[] {
  const out: string[] = [];
  for (let i = 0; i < got.rawHeaders.length; i += 2) out.push(got.rawHeaders[i]!.toLowerCase());
  return out;
}

export const CASES: HostileCase[] = [
  // --- request smuggling: message framing ------------------------------------------------
  {
    name: 'CL.TE: Content-Length and Transfer-Encoding together',
    bytes: () => `POST ${path('clte')} HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${H}\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'TE.CL: Transfer-Encoding then Content-Length',
    bytes: () => `POST ${path('tecl')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1d\r\nGET /admin HTTP/1.1\r\nX: y\r\n\r\n\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'TE.CL with Content-Length: 0 and a bodiless method',
    bytes: () => `GET ${path('tecl0')} HTTP/1.1\r\n${H}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'duplicate Content-Length, equal values',
    bytes: () => `POST ${path('dupcl')} HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'duplicate Content-Length, different values',
    bytes: () => `POST ${path('dupcl2')} HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'Content-Length as a list ("3, 3")',
    bytes: () => `POST ${path('cllist')} HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'Content-Length with a sign ("+3")',
    bytes: () => `POST ${path('clplus')} HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'negative Content-Length',
    bytes: () => `POST ${path('clneg')} HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'hex Content-Length ("0x3")',
    bytes: () => `POST ${path('clhex')} HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'Transfer-Encoding: chunked twice',
    bytes: () => `POST ${path('te2')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'chunked not the final coding ("chunked, identity")',
    bytes: () => `POST ${path('tenotlast')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'whitespace before the colon ("Transfer-Encoding : chunked")',
    bytes: () => `POST ${path('tespace')} HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'obs-fold continuation line',
    bytes: () => `GET ${path('obsfold')} HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'obs-fold hiding Transfer-Encoding',
    bytes: () => `POST ${path('obsfoldte')} HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'bare LF line endings',
    bytes: () => `GET ${path('barelf')} HTTP/1.1\nHost: api.example\n\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'bare LF inside the header block',
    bytes: () => `GET ${path('barelf2')} HTTP/1.1\r\nHost: api.example\nX-A: b\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'bare CR inside the header block',
    bytes: () => `GET ${path('barecr')} HTTP/1.1\r\nHost: api.example\rX-A: b\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'http-garden: header block ended by \\r\\n\\rX',
    bytes: () => `GET ${path('garden-crlfcrx')} HTTP/1.1\r\n${H}X-A: b\r\n\rX`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'NUL byte in a header value',
    bytes: () => `GET ${path('nul')} HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'space inside a header name',
    bytes: () => `GET ${path('spacename')} HTTP/1.1\r\n${H}X A: b\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'unknown HTTP version',
    bytes: () => `GET ${path('version')} HTTP/1.2\r\n${H}\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'HTTP/1.1 request without Host',
    bytes: () => `GET ${path('nohost')} HTTP/1.1\r\nX-A: b\r\nConnection: close\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'two Host fields (RFC 9112 §3.2)',
    bytes: () => `GET ${path('duphost')} HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },

  // --- bad chunked bodies: the head was valid, the body is not (400 all the same) -------------
  {
    name: 'request Transfer-Encoding without chunked ("identity")',
    bytes: () => `POST ${path('teident')} HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\nabc`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'chunk size that is not hex',
    bytes: () => `POST ${path('chunkz')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nZ\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'chunk size that overflows 64 bits',
    bytes: () => `POST ${path('chunkbig')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'chunk size with a 0x prefix',
    bytes: () => `POST ${path('chunk0x')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'chunk data not followed by CRLF',
    bytes: () => `POST ${path('chunknocrlf')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'http-garden: chunk-size line ended by \\rX',
    bytes: () => `POST ${path('garden-chunkrx')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\rX\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'http-garden: chunk extension ended by \\rX',
    bytes: () => `POST ${path('garden-chunkextrx')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=b\rX\r\nabc\r\n0\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },

  // --- sizes --------------------------------------------------------------------------------
  {
    name: 'header block over limits.max_header_size: 431',
    bytes: () => `GET ${path('bighead')} HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(8 * 1024)}\r\n\r\n`,
    reply: { status: 431, code: 'headers_too_large' },
    upstream: 'nothing',
  },
  {
    name: 'many small headers over the limit: 431',
    bytes: () => `GET ${path('manyheads')} HTTP/1.1\r\n${H}${Array.from({ length: 600 }, (_, i) => `X-H${i}: vvvv\r\n`).join('')}\r\n`,
    reply: { status: 431, code: 'headers_too_large' },
    upstream: 'nothing',
  },
  {
    name: 'declared body over limits.max_body_size: 413',
    bytes: () => `POST ${path('bigcl')} HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n${'a'.repeat(2048)}`,
    reply: { status: 413, code: 'payload_too_large' },
    upstream: 'nothing',
  },
  {
    name: 'declared body over the limit, sent slowly: 413 and a close without reading it',
    bytes: () => `POST ${path('bigclopen')} HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"model":"x"`,
    reply: { status: 413, code: 'payload_too_large', within: 1000 },
    upstream: 'nothing',
  },
  {
    name: 'chunked body growing over limits.max_body_size: 413',
    bytes: () =>
      `POST ${path('bigchunked')} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      `${'400\r\n' + 'a'.repeat(1024) + '\r\n'}${'400\r\n' + 'b'.repeat(1024) + '\r\n'}0\r\n\r\n`,
    reply: { status: 413, code: 'payload_too_large' },
    upstream: 'nothing',
  },

  // --- slow clients -------------------------------------------------------------------------
  {
    name: 'slowloris: a header byte every 100 ms gets 408 and a close',
    bytes: () => `GET ${path('slowloris')} HTTP/1.1\r\n${H}X-Slow: `,
    trickle: { byte: 'a', everyMs: 100 },
    reply: { status: 408, code: 'request_timeout', within: HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 1000 },
    upstream: 'nothing',
  },
  {
    name: 'slow body: a body byte every 100 ms gets 408 and a close at limits.request_timeout',
    bytes: () => `POST ${path('slowbody')} HTTP/1.1\r\n${H}Content-Length: 500\r\n\r\n`,
    trickle: { byte: 'a', everyMs: 100 },
    reply: { status: 408, code: 'request_timeout', within: REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 1000 },
    upstream: 'nothing',
  },

  // --- methods and targets: the upstream comes from config only --------------------------------
  {
    name: 'CONNECT to a backend address',
    bytes: (c) => `CONNECT 127.0.0.1:${c.otherPort} HTTP/1.1\r\nHost: 127.0.0.1:${c.otherPort}\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'CONNECT to the configured backend itself',
    bytes: (c) => `CONNECT 127.0.0.1:${c.backendPort} HTTP/1.1\r\nHost: 127.0.0.1:${c.backendPort}\r\n\r\n`,
    reply: { status: 400, code: 'bad_request' },
    upstream: 'nothing',
  },
  {
    name: 'asterisk-form target (OPTIONS *)',
    bytes: () => `OPTIONS * HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    reply: { status: 404, code: 'no_route' },
    upstream: 'nothing',
  },
  {
    name: 'absolute-form target naming another host: only its path is used',
    bytes: (c) => `GET http://127.0.0.1:${c.otherPort}${path('absform')}?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${c.otherPort}\r\nConnection: close\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got, c) => ({ url: got.url, host: got.headers.host, expect: { url: `${path('absform')}?q=1`, host: `127.0.0.1:${c.backendPort}` } }),
  },
  {
    name: 'absolute-form with userinfo: only its path is used',
    bytes: (c) => `GET http://127.0.0.1:${c.otherPort}@169.254.169.254${path('userinfo')} HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got, c) => ({ url: got.url, host: got.headers.host, expect: { url: path('userinfo'), host: `127.0.0.1:${c.backendPort}` } }),
  },
  {
    name: 'Host naming another backend is rewritten',
    bytes: (c) => `GET ${path('hostspoof')} HTTP/1.1\r\nHost: 127.0.0.1:${c.otherPort}\r\nConnection: close\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got, c) => ({
      host: got.headers.host,
      xfh: got.headers['x-forwarded-host'],
      expect: { host: `127.0.0.1:${c.backendPort}`, xfh: `127.0.0.1:${c.otherPort}` },
    }),
  },

  // --- accepted and sanitized -----------------------------------------------------------------
  {
    name: 'hop-by-hop fields (and those Connection names) are stripped',
    bytes: () =>
      `GET ${path('hop')} HTTP/1.1\r\n${H}Connection: close, X-Secret, Keep-Alive\r\nX-Secret: s\r\nKeep-Alive: timeout=1\r\n` +
      `Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nProxy-Authorization: Basic eDp5\r\nUpgrade: h2c\r\n` +
      `HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nX-End-To-End: kept\r\nAuthorization: Bearer k\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got) => ({
      names: names(got).sort(),
      e2e: got.headers['x-end-to-end'],
      auth: got.headers.authorization,
      expect: { names: [...PROXY_ADDED, 'x-end-to-end', 'authorization'].sort(), e2e: 'kept', auth: 'Bearer k' },
    }),
  },
  {
    name: 'Upgrade: h2c (curl --http2 on http://) is declined and the request served as HTTP/1.1',
    bytes: () => `GET ${path('h2c')} HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got) => ({ names: names(got).sort(), expect: { names: [...PROXY_ADDED].sort() } }),
  },
  {
    name: 'X-Forwarded-For is appended to, -Proto and -Host are set by the proxy',
    bytes: () =>
      `GET ${path('xff')} HTTP/1.1\r\n${H}X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.2\r\n` +
      `X-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.internal\r\nConnection: close\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got) => ({
      xff: got.rawHeaders.filter((_, i) => i % 2 === 0 && got.rawHeaders[i]!.toLowerCase() === 'x-forwarded-for').length,
      xffValue: got.headers['x-forwarded-for'],
      proto: got.headers['x-forwarded-proto'],
      xfh: got.headers['x-forwarded-host'],
      expect: { xff: 1, xffValue: '203.0.113.9, 198.51.100.2, 127.0.0.1', proto: 'http', xfh: 'api.example' },
    }),
  },
  {
    name: 'a chunked body with a trailer arrives with Content-Length and no trailer',
    bytes: () =>
      `POST ${path('trailer')} HTTP/1.1\r\n${H}Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      `3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: evil\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got) => ({
      body: got.body.toString('latin1'),
      cl: got.headers['content-length'],
      te: got.headers['transfer-encoding'],
      trailer: got.headers['x-trailer'],
      expect: { body: 'abcde', cl: '5', te: undefined, trailer: undefined },
    }),
  },
  {
    name: 'Expect: 100-continue is answered by the proxy, not forwarded',
    bytes: () => `POST ${path('expect')} HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhi`,
    interim: [100],
    reply: { status: 200 },
    upstream: (got) => ({ expectHdr: got.headers.expect, body: got.body.toString(), expect: { expectHdr: undefined, body: 'hi' } }),
  },
  {
    name: 'an unsafe x-request-id is replaced',
    bytes: () => `GET ${path('reqid')} HTTP/1.1\r\n${H}X-Request-Id: ${'a'.repeat(300)}\r\nConnection: close\r\n\r\n`,
    reply: { status: 200 },
    upstream: (got) => ({ sane: /^[\x21-\x7e]{1,200}$/.test(String(got.headers['x-request-id'])), expect: { sane: true } }),
  },
];
