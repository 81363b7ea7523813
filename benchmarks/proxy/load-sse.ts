// SSE client, in its own process:   node load-sse.js URL STREAMS SECONDS EVENTS
// Keeps STREAMS streams open back to back for SECONDS (streams started before the end
// run to completion), counting events and the time to each stream's first body byte.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { tell } from '../common/ipc';
import { percentile } from '../common/stats';
import { CHAT_PATH, JSON_HEADERS, STREAM_BODY, countEvents } from './workload';

export interface SseLoadResult {
  events: number;
  streams: number;
  /** Streams that failed or ended before all their events. */
  failed: number;
  seconds: number;
  ttfbP50Ms: number;
  ttfbP99Ms: number;
}

const [url, streams, seconds, events] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const pool = new Pool(new URL(url).origin, { connections: streams, headersTimeout: 10_000, bodyTimeout: 10_000 });
const ttfb: number[] = [];
let received = 0;
let completed = 0;
let failed = 0;

async function oneStream(): Promise<void> {
  const start = performance.now();
  const { statusCode, body } = await pool.request({ method: 'POST', path: CHAT_PATH, headers: JSON_HEADERS, body: STREAM_BODY });
  let count = 0;
  let last = 0;
  let first = true;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (first) ttfb.push(performance.now() - start);
    first = false;
    count += countEvents(chunk, last);
    last = chunk[chunk.length - 1];
  }
  received += count;
  if (statusCode === 200 && count === events) completed++;
  else failed++;
}

async function main(): Promise<void> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) await oneStream().catch(() => void failed++);
  };
  await Promise.all(Array.from({ length: streams }, worker));
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  tell('result', {
    events: received,
    streams: completed,
    failed,
    seconds: elapsed,
    ttfbP50Ms: percentile(ttfb, 50),
    ttfbP99Ms: percentile(ttfb, 99),
  } satisfies SseLoadResult);
}

void main();
