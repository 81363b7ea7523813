// One attempt to forward a request to one backend, as an undici dispatch handler.
//
// The retry boundary is the first *body* byte sent to the client: the response head is
// held back until the first chunk (or the end) arrives, so a backend that answers headers
// and then stalls before the first token can still be retried elsewhere. After the first
// byte, a failing upstream cuts the client's connection (no made-up `[DONE]`, no final
// chunk), and a client that goes away aborts the upstream, whose socket undici destroys
// rather than pools, so the engine sees the close and stops generating.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { UpstreamTimeoutError, classifyUpstreamError, type SwitchyardError, type UpstreamErrorKind } from '../errors';
import { clientResponseHeaders } from './headers';
import type { Backend } from '../routing/backend';
import { deadlinesOf, type DeadlineEntry, type DeadlineList } from './deadlines';

export type AttemptOutcome =
  /** The response was relayed to the end. */
  | { type: 'ok'; status: number }
  /** Nothing reached the client; the backend failed (retry or answer `error`). */
  | { type: 'failed'; error: SwitchyardError; kind: UpstreamErrorKind }
  /** The backend answered a status the retry policy retries; nothing reached the client. */
  | { type: 'retry_status'; status: number }
  /** The client went away; the upstream was aborted. */
  | { type: 'client_abort'; status: number }
  /** Failure after the first byte: the client's stream was cut. */
  | { type: 'cut'; status: number; kind: UpstreamErrorKind; error: unknown };

/** The request an attempt belongs to: told when the attempt ends, and when the client's buffer is full. */
export interface AttemptOwner {
  attemptDone(attempt: Attempt, outcome: AttemptOutcome): void;
  /** The client's socket buffer is full and the upstream was paused: call `resume()` on 'drain'. */
  backpressure(): void;
}

export interface AttemptOptions {
  backend: Backend;
  method: string;
  path: string;
  headers: string[];
  body: Buffer | AsyncIterable<Buffer> | null;
  requestId: string;
  firstByteTimeout: number;
  idleTimeout: number;
  /** Statuses to hand back for retry instead of relaying (empty when no retry is left). */
  retryStatuses: ReadonlySet<number>;
}

const CLIENT_GONE = Object.assign(new Error('client closed the connection'), { code: 'SWITCHYARD_CLIENT_ABORT' });

export class Attempt implements Dispatcher.DispatchHandler, DeadlineEntry {
  /** Time the first body byte was written to the client (ms since epoch), 0 if none. */
  firstByteAt = 0;
  bytes = 0;
  status = 0;
  private controller?: Dispatcher.DispatchController;
  private headers?: Record<string, string | string[]>;
  // DeadlineEntry: the first-byte deadline, in a list shared by the attempts with the same timeout.
  deadlineAt = 0;
  prevDeadline: DeadlineEntry | undefined = undefined;
  nextDeadline: DeadlineEntry | undefined = undefined;
  inDeadlines = false;
  private deadlines?: DeadlineList;
  private settled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: AttemptOptions,
    private readonly owner: AttemptOwner,
  ) {}

  start(): void {
    const o = this.opts;
    this.deadlines = deadlinesOf(o.firstByteTimeout);
    this.deadlines.add(this);
    o.backend.dispatcher.dispatch(
      {
        origin: o.backend.origin,
        path: o.path,
        method: o.method as Dispatcher.HttpMethod,
        headers: o.headers,
        body: o.body as Dispatcher.DispatchOptions['body'],
        // The first-byte deadline (which also covers the head) is ours, in `deadlines`:
        // undici's own would only add a timer per request (its parser re-arms one each
        // time the timeout value changes: headers, body, keep-alive).
        headersTimeout: 0,
        bodyTimeout: o.idleTimeout,
      },
      this,
    );
  }

  /** The client is gone: abort the upstream (its socket is destroyed, not pooled). */
  clientGone(): void {
    if (this.settled) return;
    this.finish({ type: 'client_abort', status: this.status });
    this.controller?.abort(CLIENT_GONE);
  }

  /** Resume reading from the upstream after the client drained its buffer. */
  resume(): void {
    this.controller?.resume();
  }

  /** Abort from outside (total timeout, shutdown deadline). */
  abort(error: Error): void {
    this.controller?.abort(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // informational: not relayed
    if (this.opts.retryStatuses.has(statusCode)) {
      this.finish({ type: 'retry_status', status: statusCode });
      controller.abort(CLIENT_GONE);
      return;
    }
    this.status = statusCode;
    this.headers = clientResponseHeaders(headers, this.opts.requestId);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.firstByteAt === 0) this.writeHead();
    this.bytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.owner.backpressure();
    }
  }

  onResponseEnd(): void {
    if (this.settled) return;
    if (this.firstByteAt === 0) this.writeHead();
    this.res.end();
    this.finish({ type: 'ok', status: this.status });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    if (this.firstByteAt === 0) {
      const { error, kind } = classifyUpstreamError(err);
      this.finish({ type: 'failed', error, kind });
      return;
    }
    // Mid-stream: end the client's response abnormally (no terminating chunk).
    const { kind } = classifyUpstreamError(err);
    this.res.destroy(err);
    this.finish({ type: 'cut', status: this.status, kind, error: err });
  }

  private writeHead(): void {
    this.deadlines?.remove(this);
    this.firstByteAt = Date.now();
    this.res.writeHead(this.status, this.headers);
  }

  /** DeadlineEntry: no first body byte within `firstByteTimeout`. */
  onDeadline(): void {
    if (this.settled || this.firstByteAt !== 0) return;
    const timeout = new UpstreamTimeoutError('first_byte');
    // Not yet on a socket: settle now; onRequestStart aborts it if undici starts it later.
    if (!this.controller) this.finish({ type: 'failed', error: timeout, kind: 'timeout' });
    else this.controller.abort(timeout);
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.deadlines?.remove(this);
    this.owner.attemptDone(this, outcome);
  }
}
