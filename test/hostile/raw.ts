// Raw-socket client for hostile inputs: writes exact bytes (optionally a trickle, one byte at
// a time, as a slowloris client does), collects everything the server sends until it closes
// the connection, and parses the response heads it got. Only 127.0.0.1.
import { connect, type Socket } from 'node:net';

export interface RawResult {
  /** Everything received, latin1. */
  text: string;
  /** Responses in order (a 100 Continue comes before the final one). */
  heads: Head[];
  /** Status of the final (non-1xx) response, or undefined when none came. */
  status: number | undefined;
  /** The server closed (or reset) the connection before the timeout. */
  closed: boolean;
  /** Milliseconds from the first write to the close (or the timeout). */
  elapsedMs: number;
}

export interface RawOptions {
  /** After the bytes, keep writing `byte` every `everyMs` until the server closes. */
  trickle?: { byte: string; everyMs: number };
  /** Give up (closed: false) after this long. Default 5 s. */
  timeoutMs?: number;
}

export function rawSend(port: number, bytes: string | Buffer, opts: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const sock: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const start = Date.now();
    let trickle: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(trickle);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const heads = parseHeads(text);
      const final = heads.find((h) => h.status >= 200);
      resolve({ text, heads, status: final?.status, closed, elapsedMs: Date.now() - start });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', () => {
      sock.write(bytes);
      if (opts.trickle) {
        const { byte, everyMs } = opts.trickle;
        trickle = setInterval(() => {
          if (sock.writable) sock.write(byte);
        }, everyMs);
      }
    });
  });
}

export interface Head {
  status: number;
  headers: Record<string, string>;
  /** The body as framed by content-length or chunked coding (empty without either). */
  body: string;
  /** Offset in the received text where this response ends. */
  raw: number;
}

/** The status lines, headers and content-length bodies of the response heads in `text`, up to the first final one. */
export function parseHeads(text: string): Head[] {
  const heads: Head[] = [];
  let rest = text;
  for (let i = 0; i < 10; i++) {
    const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(rest);
    if (!m) break;
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const headers: Record<string, string> = {};
    for (const line of rest.slice(m[0].length, end).split('\r\n')) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    rest = rest.slice(end + 4);
    let body = '';
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      for (let j = 0; j < 1000; j++) {
        const line = rest.indexOf('\r\n');
        if (line < 0) break;
        const size = parseInt(rest.slice(0, line), 16);
        if (!(size >= 0)) break;
        body += rest.slice(line + 2, line + 2 + size);
        rest = rest.slice(line + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    heads.push({ status, headers, body, raw: text.length - rest.length });
    if (status >= 200) break;
  }
  return heads;
}

/** The JSON body of the final response, if any. */
export function bodyJson(r: RawResult): any {
  try {
    return JSON.parse(r.heads.find((h) => h.status >= 200)?.body ?? '');
  } catch {
    return undefined;
  }
}

/** Bytes received after the first final response (a second, unsolicited response shows here). */
export function trailing(r: RawResult): string {
  const final = r.heads.find((h) => h.status >= 200);
  return final ? r.text.slice(final.raw) : '';
}
