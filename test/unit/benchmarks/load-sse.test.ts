// bench:proxy's SSE load generator against the bench's own backend (both real processes):
// the burst counts every event of every stream; the spread load marks its window (the
// proxy's CPU is read at the marks) and counts only what falls in it.
import t from 'tap';
import { join } from 'node:path';
import { forkScript, runForResult, stop, type Started } from '../../../benchmarks/common/children';
import { expect } from '../../../benchmarks/common/ipc';
import type { SseLoadResult } from '../../../benchmarks/proxy/load-sse';

const DIR = join(__dirname, '../../../benchmarks/proxy');
const EVENTS = 8;
const INTERVAL_MS = 5;
const STREAMS = 4;

let backend: Started;
let origin = '';

t.before(async () => {
  backend = forkScript('backend', join(DIR, 'backend.js'), [String(EVENTS), String(INTERVAL_MS)]);
  origin = `http://127.0.0.1:${await expect<number>(backend.child, 'ready', 10_000)}`;
});
t.teardown(() => stop(backend));

/** Runs load-sse.js to its result, with the 'mark' messages it sent on the way. */
async function load(seconds: number, staggerMs: number): Promise<{ result: SseLoadResult; marks: number[] }> {
  const marks: number[] = [];
  const args = [origin, String(STREAMS), String(seconds), String(EVENTS), String(staggerMs)];
  const result = await runForResult<SseLoadResult>('load-sse', join(DIR, 'load-sse.js'), args, 20_000, (kind, value) => {
    if (kind === 'mark') marks.push(value as number);
  });
  return { result, marks };
}

t.test('burst: every stream is measured, all its events counted, no marks', async (t) => {
  const { result, marks } = await load(0.2, 0);
  t.same(marks, []);
  t.equal(result.failed, 0);
  t.ok(result.streams >= STREAMS, `${result.streams} streams`);
  t.equal(result.events, result.streams * EVENTS, 'events = complete streams × events per stream');
  t.ok(result.ttfbP50Ms > 0 && result.ttfbP50Ms <= result.ttfbP99Ms);
});

t.test('spread: two marks bracket a window of SECONDS after the ramp', async (t) => {
  const stagger = (EVENTS * INTERVAL_MS) / STREAMS;
  const { result, marks } = await load(0.3, stagger);
  t.equal(marks.length, 2, 'one mark after the ramp, one at the end of the window');
  t.ok(Math.abs(marks[1]! - marks[0]! - 300) < 1e-6, 'the marks are the window');
  t.ok(Math.abs(result.seconds - 0.3) < 1e-9, `window ${result.seconds} s`);
  t.equal(result.failed, 0);
  t.ok(result.streams > 0, 'streams opened in the window completed');
  t.ok(result.events > 0, 'events arrived in the window');
  t.ok(result.ttfbP50Ms > 0 && result.ttfbP50Ms <= result.ttfbP99Ms);
});
