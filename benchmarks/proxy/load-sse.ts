// SSE client, in its own process:   node load-sse.js URL STREAMS SECONDS EVENTS STAGGER_MS
// Keeps STREAMS streams open back to back (streams started before the end run to
// completion), counting events and the time to each stream's first body byte.
//
// STAGGER_MS > 0 (steady load): worker i opens its first stream i × STAGGER_MS after the
// start, so with STAGGER_MS = one stream's length ÷ STREAMS the streams are spread evenly
// over their length, as independent clients are; the measured window is the SECONDS after
// that ramp: events, first bytes of the streams opened in it, and the proxy's CPU (read by
// the parent at the two 'mark' messages).
// STAGGER_MS = 0 (burst): every worker starts at once. The streams all have the same
// length, so they stay in step: each round of 64 requests reaches the proxy together, and
// the first byte measures queueing behind the rest of the burst (session 5 measured 7–21,
// on average, other streams opened within ±1 ms of each stream). The whole run is measured.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { tell } from '../common/ipc';
import { percentile } from '../common/stats';
import { CHAT_PATH, JSON_HEADERS, STREAM_BODY, countEvents } from './workload';

export interface SseLoadResult {
  /** Events received in the measured window. */
  events: number;
  /** Streams opened in the window that received all their events. */
  streams: number;
  /** Streams that failed or ended before all their events. */
  failed: number;
  /** Length of the measured window. */
  seconds: number;
  ttfbP50Ms: number;
  ttfbP99Ms: number;
}

const [url, streams, seconds, events, stagger] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6] ?? 0)];
const pool = new Pool(new URL(url).origin, { connections: streams, headersTimeout: 10_000, bodyTimeout: 10_000 });
const ttfb: number[] = [];
let windowStart = 0;
let windowEnd = Infinity;
let received = 0;
let completed = 0;
let failed = 0;
const inWindow = (t: number) => t >= windowStart && t < windowEnd;

async function oneStream(): Promise<void> {
  const start = performance.now();
  const counted = inWindow(start);
  const { statusCode, body } = await pool.request({ method: 'POST', path: CHAT_PATH, headers: JSON_HEADERS, body: STREAM_BODY });
  let count = 0;
  let last = 0;
  let first = true;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const now = performance.now();
    if (first && counted) ttfb.push(now - start);
    first = false;
    const n = countEvents(chunk, last);
    count += n;
    if (inWindow(now)) received += n;
    last = chunk[chunk.length - 1];
  }
  if (statusCode === 200 && count === events) {
    if (counted) completed++;
  } else failed++;
}

/** Tells the parent (which reads the proxy's CPU time) when `at` comes. */
async function mark(at: number): Promise<void> {
  await sleep(at - performance.now());
  tell('mark', at);
}

async function main(): Promise<void> {
  const start = performance.now();
  const ramp = stagger * (streams - 1);
  windowStart = start + ramp;
  const end = windowStart + seconds * 1000;
  if (stagger > 0) windowEnd = end;
  const worker = async (i: number) => {
    if (stagger > 0) await sleep(i * stagger);
    while (performance.now() < end) await oneStream().catch(() => void failed++);
  };
  const marks = stagger > 0 ? mark(windowStart).then(() => mark(end)) : undefined;
  await Promise.all(Array.from({ length: streams }, (_, i) => worker(i)));
  await marks;
  if (stagger === 0) windowEnd = performance.now();
  await pool.close();
  tell('result', {
    events: received,
    streams: completed,
    failed,
    seconds: (windowEnd - windowStart) / 1000,
    ttfbP50Ms: percentile(ttfb, 50),
    ttfbP99Ms: percentile(ttfb, 99),
  } satisfies SseLoadResult);
}

void main();
