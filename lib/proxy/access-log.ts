// The access log: one JSON line per request, in pino's layout (level, time, pid, type,
// then the fields), so pino-pretty and log pipelines read it like every other line.
//
// Why not `logger.info(obj)`: pino serialises an arbitrary object (key walk, a type test
// per value, undefined skipped), ≈ 3 µs per line on the data plane's hot path. The fields
// here are fixed, so a line is one template; strings go through JSON.stringify (the path
// and request id come from the client and may need escaping).
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
const CHUNK = ACCESS_CHUNK;

/** pino's numeric level for `info`, the level access lines are written at. */
const INFO = 30;

export class AccessLog {
  private readonly prefix = `{"level":${INFO},"time":`;
  private readonly suffix: string;
  private readonly chunk = Buffer.allocUnsafeSlow(CHUNK);
  private used = 0;
  // Route, pool, backend and method repeat from line to line: escape each value once.
  private readonly method = new LastJson();
  private readonly route = new LastJson();
  private readonly pool = new LastJson();
  private readonly backend = new LastJson();

  constructor(
    private readonly dest: ChunkSink,
    pid: number = process.pid,
  ) {
    this.suffix = `,"pid":${pid},"type":"access","req_id":`;
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

  /** One line. `backend` undefined and `ttfbMs` < 0 are left out, as pino leaves out undefined. */
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
    let line =
      this.prefix +
      time +
      this.suffix +
      JSON.stringify(requestId) +
      ',"method":' +
      this.method.json(method ?? '') +
      ',"path":' +
      JSON.stringify(path ?? '') +
      ',"route":' +
      this.route.json(route) +
      ',"pool":' +
      this.pool.json(pool);
    if (backend !== undefined) line += ',"backend":' + this.backend.json(backend);
    line += ',"status":' + status + ',"bytes":' + bytes;
    if (ttfbMs >= 0) line += ',"ttfb_ms":' + ttfbMs;
    line += ',"duration_ms":' + durationMs + ',"attempts":' + attempts + ',"outcome":"' + outcome + '"}\n';
    // A UTF-8 byte takes at most 3 bytes per UTF-16 unit: check before encoding.
    if (this.used + line.length * 3 > CHUNK) {
      this.flush();
      if (line.length * 3 > CHUNK) {
        this.dest.write(Buffer.from(line));
        return;
      }
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
  }
}

/** JSON.stringify of a string, remembering the last one. */
class LastJson {
  private value = '';
  private text = '""';

  json(value: string): string {
    if (value !== this.value) {
      this.value = value;
      this.text = JSON.stringify(value);
    }
    return this.text;
  }
}
