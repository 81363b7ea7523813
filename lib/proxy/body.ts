// Request body handling. Inference requests are JSON whose `model` (and, for affinity,
// `user` and the prompt) decide the route, so the proxy reads the head of the body, up to
// `limits.inspect_body_size`, before choosing a backend. What was read is replayed to the
// upstream byte for byte, followed by the rest of the client stream: nothing beyond the
// inspection window is ever buffered, and a body that fits is sent as one Buffer (which
// also makes it safe to retry).
import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError, BadRequestError, InvalidJSONError } from '../errors';

export interface InspectedBody {
  /** The bytes read so far (the whole body when `complete`). */
  head: Buffer;
  complete: boolean;
  /** Parsed body when complete and JSON. */
  json?: Record<string, unknown>;
  model?: string;
  user?: string;
}

export const EMPTY_BODY: InspectedBody = Object.freeze({ head: Buffer.alloc(0), complete: true }) as InspectedBody;

/** Told once what a BodyReader read: an error, or the inspected body. */
export interface BodyOwner {
  bodyRead(err: Error | undefined, body: InspectedBody | undefined): void;
}

const kReader = Symbol('switchyard.bodyReader');
type Reading = IncomingMessage & { [kReader]?: BodyReader };

// Listeners shared by every request (no closures per request): the reader hangs on the request.
function onData(this: Reading, chunk: Buffer): void {
  this[kReader]?.data(chunk);
}
function onEnd(this: Reading): void {
  this[kReader]?.end();
}

/**
 * Reads up to `window` bytes of a request body, then tells its owner once: when the body
 * ended, when the window is full (the request is then paused, mid-stream), or when
 * `abort()` is called (the client went away: the owner watches the response's `close`,
 * so no `error`/`aborted` listeners are needed; Node emits `error` on a request only to
 * listeners). With `parseJson`, extracts `model` and `user`. 413 when the body exceeds
 * `maxBody`; 400 when a complete JSON body is malformed.
 */
export class BodyReader {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private done = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly window: number,
    private readonly maxBody: number,
    private readonly parseJson: boolean,
    private readonly owner: BodyOwner,
  ) {
    (req as Reading)[kReader] = this;
    req.on('data', onData);
    req.on('end', onEnd);
  }

  data(chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.maxBody) {
      this.stop(true);
      this.owner.bodyRead(new PayloadTooLargeError(this.maxBody), undefined);
    } else if (this.length >= this.window) {
      this.stop(true);
      const head = Buffer.concat(this.chunks, this.length);
      this.owner.bodyRead(undefined, this.parseJson ? partial(head) : { head, complete: false });
    }
  }

  end(): void {
    if (this.done) return;
    this.done = true; // the request emits nothing after 'end': its listeners can stay
    const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    let body: InspectedBody;
    try {
      body = this.parseJson ? complete(head, this.req.headers['content-type']) : { head, complete: true };
    } catch (err) {
      this.owner.bodyRead(err as Error, undefined);
      return;
    }
    this.owner.bodyRead(undefined, body);
  }

  /** The client went away mid-body. */
  abort(): void {
    if (this.done) return;
    this.stop(false);
    this.owner.bodyRead(Object.assign(new Error('client aborted'), { code: 'ECONNRESET' }), undefined);
  }

  private stop(pause: boolean): void {
    this.done = true;
    this.req.off('data', onData);
    this.req.off('end', onEnd);
    (this.req as Reading)[kReader] = undefined;
    if (pause) this.req.pause();
  }
}

function isJsonType(contentType: string | undefined): boolean {
  return contentType === undefined || contentType.includes('json');
}

function complete(head: Buffer, contentType: string | undefined): InspectedBody {
  const body: InspectedBody = { head, complete: true };
  if (head.length === 0 || !isJsonType(contentType)) return body;
  let json: unknown;
  try {
    json = JSON.parse(head.toString('utf8'));
  } catch (err) {
    throw new InvalidJSONError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return body;
  const obj = json as Record<string, unknown>;
  body.json = obj;
  if (obj.model !== undefined && typeof obj.model !== 'string') throw new BadRequestError('`model` must be a string');
  body.model = obj.model as string | undefined;
  if (typeof obj.user === 'string') body.user = obj.user;
  return body;
}

function partial(head: Buffer): InspectedBody {
  const spans = scanTopLevelStrings(head, FIELDS);
  return { head, complete: false, model: stringAt(head, spans.model), user: stringAt(head, spans.user) };
}

const FIELDS = ['model', 'user'] as const;

/** Byte offsets of a JSON string value, quotes included: `buf[start] === '"'`, `buf[end - 1] === '"'`. */
export interface Span {
  start: number;
  end: number;
}

function stringAt(buf: Buffer, span: Span | undefined): string | undefined {
  return span ? (JSON.parse(buf.toString('utf8', span.start, span.end)) as string) : undefined;
}

/**
 * Find the string values of top-level keys in a possibly truncated JSON object, without
 * parsing the whole text (the prompt may be megabytes and cut by the window). Works on
 * bytes: JSON's structural characters are ASCII, and UTF-8 never uses bytes below 0x80
 * inside a multi-byte character. Only `"key": "value"` pairs at depth 1 count.
 */
export function scanTopLevelStrings<K extends string>(buf: Buffer, keys: readonly K[]): Partial<Record<K, Span>> {
  const found: Partial<Record<K, Span>> = {};
  let depth = 0;
  let expectKey = false;
  let pendingKey: string | undefined;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      const end = stringEnd(buf, i);
      if (end < 0) break;
      if (depth === 1) {
        if (expectKey) {
          pendingKey = JSON.parse(buf.toString('utf8', i, end + 1)) as string;
          expectKey = false;
        } else if (pendingKey !== undefined) {
          if ((keys as readonly string[]).includes(pendingKey) && found[pendingKey as K] === undefined) found[pendingKey as K] = { start: i, end: end + 1 };
          pendingKey = undefined;
        }
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === 1 && c === 0x7b) expectKey = true;
      else if (depth === 2) pendingKey = undefined;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c && depth === 1) {
      expectKey = true;
      pendingKey = undefined;
    }
  }
  return found;
}

function stringEnd(buf: Buffer, start: number): number {
  for (let j = start + 1; j < buf.length; j++) {
    const c = buf[j]!;
    if (c === 0x5c) j++;
    else if (c === 0x22) return j;
  }
  return -1;
}

/**
 * `head` with the top-level `model` string replaced by `model`, every other byte kept
 * (no re-serialisation: numbers beyond 2^53, escapes and whitespace pass untouched).
 * Undefined when the head holds no top-level `model` string.
 */
export function rewriteModel(head: Buffer, model: string): Buffer | undefined {
  const span = scanTopLevelStrings(head, ['model']).model;
  if (!span) return undefined;
  return Buffer.concat([head.subarray(0, span.start), Buffer.from(JSON.stringify(model)), head.subarray(span.end)]);
}

/**
 * The body to send upstream: the inspected head replayed, then the rest of the client
 * stream with backpressure, counting bytes against `maxBody` (413 once exceeded).
 */
export function upstreamBody(inspected: InspectedBody, req: IncomingMessage, maxBody: number): Buffer | AsyncIterable<Buffer> | null {
  if (inspected.complete) return inspected.head.length > 0 ? inspected.head : null;
  return continueBody(inspected.head, req, maxBody);
}

async function* continueBody(head: Buffer, req: IncomingMessage, maxBody: number): AsyncIterable<Buffer> {
  let total = head.length;
  if (total > 0) yield head;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBody) throw new PayloadTooLargeError(maxBody);
    yield chunk;
  }
}

/**
 * Render the prompt the way an engine's chat template would, for prefix affinity:
 * `<|role|>\n{content}\n` per message, then `<|assistant|>\n`; or the completion prompt.
 * Only text parts of multi-part content count. Undefined when there is no prompt.
 */
export function renderPrompt(json: Record<string, unknown> | undefined): string | undefined {
  if (!json) return undefined;
  const messages = json.messages;
  if (Array.isArray(messages)) {
    let out = '';
    for (const m of messages) {
      if (typeof m !== 'object' || m === null) continue;
      const { role, content } = m as { role?: unknown; content?: unknown };
      out += `<|${typeof role === 'string' ? role : 'user'}|>\n${contentText(content)}\n`;
    }
    return `${out}<|assistant|>\n`;
  }
  const prompt = json.prompt;
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && typeof prompt[0] === 'string') return prompt[0];
  if (Array.isArray(prompt) && typeof prompt[0] === 'number') return prompt.join(' ');
  return undefined;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') out += (part as { text: string }).text;
  }
  return out;
}
