// One errors module for everything a client can be told. Each error has a stable
// `code` (what scripts match on), the HTTP `status` it is answered with, and the
// OpenAI error `type`, so that the proxy turns any failure into the same JSON shape:
//   {"error":{"message":"…","type":"…","code":"…"}}
// Modelled on undici's lib/core/errors.js: small classes, stable codes, `{ cause }`.

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'timeout_error'
  | 'service_unavailable_error';

export class SwitchyardError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: OpenAIErrorType;
  /** Seconds for a `Retry-After` header (429 and some 503). */
  retryAfter?: number;
  /** Extra response headers (for example `allow` on 405). */
  headers?: Record<string, string>;

  constructor(message: string, code: string, status: number, type: OpenAIErrorType, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.type = type;
  }

  toJSON(): { error: { message: string; type: string; code: string } } {
    return { error: { message: this.message, type: this.type, code: this.code } };
  }
}

// --- 4xx: the client's request --------------------------------------------------------
export class BadRequestError extends SwitchyardError {
  constructor(message = 'malformed request', options?: { cause?: unknown }) {
    super(message, 'bad_request', 400, 'invalid_request_error', options);
  }
}
export class InvalidJSONError extends SwitchyardError {
  constructor(message = 'request body is not valid JSON', options?: { cause?: unknown }) {
    super(message, 'invalid_json', 400, 'invalid_request_error', options);
  }
}
export class UnauthorizedError extends SwitchyardError {
  constructor(message = 'missing or invalid bearer token') {
    super(message, 'unauthorized', 401, 'invalid_request_error');
  }
}
export class NoRouteError extends SwitchyardError {
  constructor(message = 'no route matches this request') {
    super(message, 'no_route', 404, 'not_found_error');
  }
}
export class ModelNotFoundError extends SwitchyardError {
  constructor(model: string, served: readonly string[]) {
    super(
      `The model '${model}' does not exist or is not served here. Models served: ${served.length ? served.join(', ') : '(none)'}`,
      'model_not_found',
      404,
      'not_found_error',
    );
  }
}
export class MethodNotAllowedError extends SwitchyardError {
  constructor(allow: string) {
    super(`method not allowed; use ${allow}`, 'method_not_allowed', 405, 'invalid_request_error');
    this.headers = { allow };
  }
}
export class RequestTimeoutError extends SwitchyardError {
  constructor(message = 'the request was not received in time') {
    super(message, 'request_timeout', 408, 'timeout_error');
  }
}
export class PayloadTooLargeError extends SwitchyardError {
  constructor(limit: number) {
    super(`request body exceeds the limit of ${limit} bytes`, 'payload_too_large', 413, 'invalid_request_error');
  }
}
export class HeadersTooLargeError extends SwitchyardError {
  constructor() {
    super('request header fields too large', 'headers_too_large', 431, 'invalid_request_error');
  }
}
export class ShedError extends SwitchyardError {
  constructor(reason: string, retryAfter = 1) {
    super(`the service is overloaded (${reason}); retry later`, 'overloaded', 429, 'rate_limit_error');
    this.retryAfter = retryAfter;
  }
}
export class RateLimitedError extends SwitchyardError {
  constructor(what: string, retryAfter: number) {
    super(`rate limit exceeded for ${what}`, 'rate_limited', 429, 'rate_limit_error');
    this.retryAfter = retryAfter;
  }
}

// --- 5xx: the proxy or the upstream ------------------------------------------------------
export class UpstreamConnectError extends SwitchyardError {
  constructor(message = 'could not connect to the upstream', options?: { cause?: unknown }) {
    super(message, 'upstream_connect_failed', 502, 'server_error', options);
  }
}
export class UpstreamResetError extends SwitchyardError {
  constructor(message = 'the upstream closed the connection before answering', options?: { cause?: unknown }) {
    super(message, 'upstream_reset', 502, 'server_error', options);
  }
}
export class UpstreamProtocolError extends SwitchyardError {
  constructor(message = 'the upstream sent an invalid response', options?: { cause?: unknown }) {
    super(message, 'upstream_protocol_error', 502, 'server_error', options);
  }
}
/**
 * The upstream answered a retryable status (e.g. 503) that was held back for a retry
 * which then could not be made (retry budget spent): the client gets the same status.
 */
export class UpstreamStatusError extends SwitchyardError {
  constructor(status: number) {
    super(
      `the upstream answered ${status} and no retry was possible`,
      `upstream_status_${status}`,
      status,
      status === 429 ? 'rate_limit_error' : status === 504 ? 'timeout_error' : 'server_error',
    );
    if (status === 429 || status === 503) this.retryAfter = 1;
  }
}

export class NoBackendError extends SwitchyardError {
  constructor(pool: string) {
    super(`no healthy backend available in pool '${pool}'`, 'no_backend', 503, 'service_unavailable_error');
  }
}
export class CircuitOpenError extends SwitchyardError {
  constructor(what: string) {
    super(`circuit breaker open: ${what}`, 'circuit_open', 503, 'service_unavailable_error');
    this.retryAfter = 1;
  }
}
export class DrainingError extends SwitchyardError {
  constructor() {
    super('the proxy is shutting down', 'draining', 503, 'service_unavailable_error');
  }
}
export class UpstreamTimeoutError extends SwitchyardError {
  constructor(phase: 'connect' | 'first_byte' | 'total', options?: { cause?: unknown }) {
    super(`the upstream did not answer in time (${phase} timeout)`, `upstream_timeout_${phase}`, 504, 'timeout_error', options);
  }
}
export class InternalError extends SwitchyardError {
  constructor(message = 'internal proxy error', options?: { cause?: unknown }) {
    super(message, 'internal_error', 500, 'server_error', options);
  }
}

/** Error outcome kinds used in access logs and `switchyard_upstream_errors_total{kind}`. */
export type UpstreamErrorKind = 'connect' | 'reset' | 'timeout' | 'status_5xx' | 'protocol';

/** The undici/Node error codes that mean "the connection was refused or never came up". */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

/**
 * Map a low-level upstream failure (undici or socket error) that happened before the first
 * response byte to the error the client gets, and the outlier-detection kind.
 */
export function classifyUpstreamError(err: unknown): { error: SwitchyardError; kind: UpstreamErrorKind } {
  if (err instanceof SwitchyardError) {
    const kind: UpstreamErrorKind = err.status === 504 ? 'timeout' : err.code === 'upstream_connect_failed' ? 'connect' : 'reset';
    return { error: err, kind };
  }
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { error: new UpstreamTimeoutError('connect', { cause: err }), kind: 'timeout' };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { error: new UpstreamTimeoutError('first_byte', { cause: err }), kind: 'timeout' };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { error: new UpstreamTimeoutError('first_byte', { cause: err }), kind: 'timeout' };
  if (CONNECT_CODES.has(code)) return { error: new UpstreamConnectError(undefined, { cause: err }), kind: 'connect' };
  if (RESET_CODES.has(code)) return { error: new UpstreamResetError(undefined, { cause: err }), kind: 'reset' };
  if (code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_INFO') {
    return { error: new UpstreamProtocolError(undefined, { cause: err }), kind: 'protocol' };
  }
  return { error: new UpstreamResetError((err as Error)?.message || undefined, { cause: err }), kind: 'reset' };
}

/** Serialise any error into the OpenAI error body; unknown errors become a 500 without internals. */
export function toSwitchyardError(err: unknown): SwitchyardError {
  return err instanceof SwitchyardError ? err : new InternalError(undefined, { cause: err });
}
