// The access log: one JSON line per request, in pino's layout (level, time, pid, type,
// then the fields), so pino-pretty and log pipelines read it like every other line.
//
// Why not `logger.info(obj)`: pino serialises an arbitrary object (key walk, a type test
// per value, undefined skipped), ≈ 3 µs per line on the data plane's hot path. The fields
// here are fixed, so a line is one template of pre-encoded parts; the strings from the
// client (path, request id) are escaped as JSON.stringify would (see putString).
//
// Lines are encoded into one 256 KiB buffer, and a full buffer's bytes are handed to pino's
// destination (sonic-boom, in `contentMode: 'buffer'`), which writes asynchronously and
// deals with partial writes, EAGAIN and flushSync. Handing sonic-boom one string per line
// measured ≈ 6 µs per line (it re-measures its pending string's byte length on every
// write). An asynchronous fs.write costs ≈ 80 µs of main-thread time on the benchmark VM
// whatever its size, so ≈ 900 lines a write makes it ≈ 0.1 µs a line.
//
// The buffer lines are encoded into is allocated once and kept: what a flush hands over is
// a copy (a memcpy per ≈ 900 lines). A fresh buffer per flush lived as long as it took to
// fill, long enough for V8 to promote its small JS object to the old generation, so each
// one's 256 KiB stayed allocated until the next full GC: the daemon's RSS climbed by the
// volume of the access log (≈ 6 MiB per 20,000 requests) between full GCs.
// `flush()` pushes a partial chunk: the daemon calls it on a timer, so a line waits
// at most that long.

/** Where chunks go: pino.destination({ contentMode: 'buffer' }) or any sink taking Buffers. */
export interface ChunkSink {
  write(chunk: Buffer): unknown;
}

/** Bytes per chunk; the destination's `maxWrite` must be at least this (see the daemon). */
export const ACCESS_CHUNK = 256 * 1024;

/** pino's numeric level for `info`, the level access lines are written at. */
const INFO = 30;

/** Bytes of an ASCII string. */
const ascii = (text: string) => Buffer.from(text, 'latin1');

const K_TIME = ascii(`{"level":${INFO},"time":`);
const K_METHOD = ascii(',"method":');
const K_PATH = ascii(',"path":');
const K_ROUTE = ascii(',"route":');
const K_POOL = ascii(',"pool":');
const K_BACKEND = ascii(',"backend":');
const K_STATUS = ascii(',"status":');
const K_BYTES = ascii(',"bytes":');
const K_TTFB = ascii(',"ttfb_ms":');
const K_DURATION = ascii(',"duration_ms":');
const K_ATTEMPTS = ascii(',"attempts":');
const K_OUTCOME = ascii(',"outcome":');
const END = ascii('}\n');
/** Bytes of the fixed parts of a line, and a bound for each number (a safe integer or its String()). */
const FIXED =
  K_TIME.length + K_METHOD.length + K_PATH.length + K_ROUTE.length + K_POOL.length + K_BACKEND.length + K_STATUS.length +
  K_BYTES.length + K_TTFB.length + K_DURATION.length + K_ATTEMPTS.length + K_OUTCOME.length + END.length + 6 * 24 + 6 * 2;

export class AccessLog {
  private readonly pidPart: Buffer;
  /** Bytes of a line apart from its strings' (see FIXED). */
  private readonly fixed: number;
  private chunk: Buffer = Buffer.allocUnsafeSlow(ACCESS_CHUNK);
  private used = 0;
  // Method, route, pool, backend and outcome repeat from line to line: encode each value once.
  private readonly method = new LastBytes();
  private readonly route = new LastBytes();
  private readonly pool = new LastBytes();
  private readonly backend = new LastBytes();
  private readonly outcome = new LastBytes();

  constructor(
    private readonly dest: ChunkSink,
    pid: number = process.pid,
  ) {
    this.pidPart = ascii(`,"pid":${pid},"type":"access","req_id":`);
    this.fixed = FIXED + this.pidPart.length;
  }

  /** Hand the lines written so far to the destination. */
  flush(): void {
    if (this.used === 0) return;
    // A copy: the destination keeps what it is given until written, and this buffer is reused.
    this.dest.write(Buffer.from(this.chunk.subarray(0, this.used)));
    this.used = 0;
  }

  /** Whether a logger at `level` (pino's names) writes access lines. */
  static enabledAt(levelValue: number): boolean {
    return levelValue <= INFO;
  }

  /**
   * One line, written straight into the buffer: no string is built per line (a line built
   * by concatenation, flattened and then encoded cost ≈ 5% of the CPU per small request in
   * bench:proxy). `backend` undefined and `ttfbMs` < 0 are left out, as pino leaves out
   * undefined.
   */
  write(
    time: number,
    method: string | undefined,
    path: string | undefined,
    requestId: string,
    route: string,
    pool: string,
    backend: string | undefined,
    status: number,
    bytes: number,
    ttfbMs: number,
    durationMs: number,
    attempts: number,
    outcome: string,
  ): void {
    method ??= '';
    path ??= '';
    // An escaped string takes at most 6 bytes per UTF-16 unit (\u001f), plus its quotes.
    const bound =
      this.fixed + 6 * (requestId.length + method.length + path.length + route.length + pool.length + (backend?.length ?? 0) + outcome.length);
    // A line longer than the buffer is written into one of its own, handed over whole.
    let kept: Buffer | undefined;
    if (this.used + bound > ACCESS_CHUNK) {
      this.flush();
      if (bound > ACCESS_CHUNK) {
        kept = this.chunk;
        this.chunk = Buffer.allocUnsafe(bound);
      }
    }
    this.put(K_TIME);
    this.putNumber(time);
    this.put(this.pidPart);
    this.putString(requestId);
    this.put(K_METHOD);
    this.put(this.method.bytes(method));
    this.put(K_PATH);
    this.putString(path);
    this.put(K_ROUTE);
    this.put(this.route.bytes(route));
    this.put(K_POOL);
    this.put(this.pool.bytes(pool));
    if (backend !== undefined) {
      this.put(K_BACKEND);
      this.put(this.backend.bytes(backend));
    }
    this.put(K_STATUS);
    this.putNumber(status);
    this.put(K_BYTES);
    this.putNumber(bytes);
    if (ttfbMs >= 0) {
      this.put(K_TTFB);
      this.putNumber(ttfbMs);
    }
    this.put(K_DURATION);
    this.putNumber(durationMs);
    this.put(K_ATTEMPTS);
    this.putNumber(attempts);
    this.put(K_OUTCOME);
    this.put(this.outcome.bytes(outcome));
    this.put(END);
    if (kept) {
      this.dest.write(this.chunk.subarray(0, this.used));
      this.chunk = kept;
      this.used = 0;
    }
  }

  private put(bytes: Uint8Array): void {
    this.chunk.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** A safe integer in decimal digits; anything else as String() gives it (as a template would). */
  private putNumber(n: number): void {
    const buf = this.chunk;
    if (!Number.isSafeInteger(n)) {
      this.used += buf.write(String(n), this.used, 'latin1');
      return;
    }
    if (n < 0) {
      buf[this.used++] = 0x2d; // -
      n = -n;
    }
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.used + digits;
    this.used = at;
    do {
      buf[--at] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** A JSON string: printable ASCII byte by byte; anything else through JSON.stringify and UTF-8. */
  private putString(text: string): void {
    const buf = this.chunk;
    const start = this.used;
    let at = start;
    buf[at++] = 0x22; // "
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.used = start + buf.write(JSON.stringify(text), start, 'utf8');
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = 0x22;
    this.used = at;
  }
}

/** The UTF-8 bytes of a string's JSON, remembering the last string. */
class LastBytes {
  private value: string | undefined;
  private encoded = Buffer.alloc(0);

  bytes(value: string): Buffer {
    if (value !== this.value) {
      this.value = value;
      this.encoded = Buffer.from(JSON.stringify(value));
    }
    return this.encoded;
  }
}
