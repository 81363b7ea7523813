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
/** The UTF-8 bytes of a string's JSON. */
const json = (value: string) => Buffer.from(JSON.stringify(value));

const K_TIME = ascii(`{"level":${INFO},"time":`);
const K_BYTES = ascii(',"bytes":');
const K_TTFB = ascii(',"ttfb_ms":');
const K_DURATION = ascii(',"duration_ms":');
const K_ATTEMPTS = ascii(',"attempts":');
/**
 * Bytes of the fixed parts of a line (names, punctuation), and a bound for each number (a
 * safe integer or its String()), so that `fixed + 6 × (string lengths)` bounds a line.
 */
const FIXED =
  K_TIME.length + ',"method":,"path":,"route":,"pool":,"backend":,"status":'.length + K_BYTES.length + K_TTFB.length +
  K_DURATION.length + K_ATTEMPTS.length + ',"outcome":}\n'.length + 6 * 24 + 9 * 2;
/** Cached segments are dropped wholesale past this many (backend ids churn with discovery). */
const SEGMENTS_MAX = 1024;

/** The bytes of `,"route":R,"pool":P[,"backend":B],"status":`, for one backend of one route and pool. */
interface Placement {
  route: string;
  pool: string;
  backend: string | undefined;
  bytes: Buffer;
}

export class AccessLog {
  /** `,"pid":N,"type":"access","req_id":`. */
  private readonly pidPart: Buffer;
  /** Bytes of a line apart from its strings' (see FIXED). */
  private readonly fixed: number;
  private chunk: Buffer = Buffer.allocUnsafeSlow(ACCESS_CHUNK);
  private used = 0;
  // What repeats from line to line is encoded once, in segments of a line that end and
  // begin with the fixed parts around it: a line is then 9 copies, 5 numbers and the
  // request id.
  /** `{"level":30,"time":T,"pid":…,"req_id":` for the last time seen (many lines share a millisecond). */
  private head = Buffer.alloc(0);
  private headTime = Number.NaN;
  private readonly methods = new Map<string, Buffer>();
  private readonly placements = new Map<string, Placement>();
  private readonly outcomes = new Map<string, Buffer>();
  /** The last path, as a JSON string (requests mostly go to one or two paths). */
  private path = '';
  private pathBytes = json('');

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
    if (time !== this.headTime) this.encodeHead(time);
    else this.put(this.head);
    this.putString(requestId);
    this.put(this.methods.get(method) ?? segment(this.methods, method, `,"method":${JSON.stringify(method)},"path":`));
    if (path !== this.path) {
      this.path = path;
      this.pathBytes = json(path);
    }
    this.put(this.pathBytes);
    const placed = this.placements.get(backend ?? '');
    this.put(placed !== undefined && placed.route === route && placed.pool === pool && placed.backend === backend ? placed.bytes : this.place(route, pool, backend));
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
    this.put(this.outcomes.get(outcome) ?? segment(this.outcomes, outcome, `,"outcome":${JSON.stringify(outcome)}}\n`));
    if (kept) {
      this.dest.write(this.chunk.subarray(0, this.used));
      this.chunk = kept;
      this.used = 0;
    }
  }

  private encodeHead(time: number): void {
    // Encoded where the line goes, then kept: the head is what the chunk now holds.
    const start = this.used;
    this.put(K_TIME);
    this.putNumber(time);
    this.put(this.pidPart);
    // Sized to fit (the length changes only with the number of digits of the time).
    if (this.head.length !== this.used - start) this.head = Buffer.allocUnsafeSlow(this.used - start);
    this.chunk.copy(this.head, 0, start, this.used);
    this.headTime = time;
  }

  private place(route: string, pool: string, backend: string | undefined): Buffer {
    const text = `,"route":${JSON.stringify(route)},"pool":${JSON.stringify(pool)}${backend === undefined ? '' : `,"backend":${JSON.stringify(backend)}`},"status":`;
    if (this.placements.size >= SEGMENTS_MAX) this.placements.clear();
    const bytes = Buffer.from(text);
    this.placements.set(backend ?? '', { route, pool, backend, bytes });
    return bytes;
  }

  private put(bytes: Uint8Array): void {
    this.chunk.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** A safe integer in decimal digits; anything else as String() gives it (as a template would). */
  private putNumber(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.used += this.chunk.write(String(n), this.used, 'latin1');
      return;
    }
    if (n < 0) {
      this.chunk[this.used++] = 0x2d; // -
      n = -n;
    }
    if (n < 1e9) {
      this.putDigits(n, 0);
      return;
    }
    // A time in ms, or bytes beyond 1 GB: two int32 halves, so no step needs float division.
    const high = Math.floor(n / 1e9);
    this.putDigits(high, 0);
    this.putDigits(n - high * 1e9, 9);
  }

  /** `n` (0 ≤ n < 1e9) in decimal, left-padded with zeros to `width` digits. */
  private putDigits(n: number, width: number): void {
    const buf = this.chunk;
    let digits = n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : 9;
    if (digits < width) digits = width;
    let at = this.used + digits;
    this.used = at;
    for (let i = 0; i < digits; i++) {
      const q = (n / 10) | 0;
      buf[--at] = 0x30 + n - q * 10;
      n = q;
    }
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

/** Encode and remember a segment of text under `key`, forgetting them all past SEGMENTS_MAX. */
function segment(cache: Map<string, Buffer>, key: string, text: string): Buffer {
  if (cache.size >= SEGMENTS_MAX) cache.clear();
  const bytes = Buffer.from(text);
  cache.set(key, bytes);
  return bytes;
}
