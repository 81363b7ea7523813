// The named scenarios. Each runs its load generator in a child process against one setup
// and returns its figures; the proxy's CPU time is read from /proc at the start and end
// of the generator's measured window.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { forkScript, runForResult, stop } from '../common/children';
import { expect, say } from '../common/ipc';
import { cpuMicros, rssBytes } from '../common/procstat';
import type { Opened } from './idle-conns';
import type { SmallLoadResult } from './load-small';
import type { SseLoadResult } from './load-sse';
import type { Running } from './setups';
import { CHAT_PATH } from './workload';

export interface Metric {
  key: string;
  label: string;
  decimals: number;
}

export interface Knobs {
  /** Length of one measured run. */
  seconds: number;
  /** Events per SSE stream. */
  events: number;
  /** Milliseconds between a stream's events (the backend's pace). */
  interval: number;
}

export interface Scenario {
  name: string;
  title: string;
  /** Measured once per setup, on fresh processes before the warm-up (memory: JIT-compiled
   * code and garbage left by other scenarios would blur it). */
  once?: boolean;
  metrics: Metric[];
  run(setup: Running, knobs: Knobs): Promise<Record<string, number>>;
}

const script = (name: string) => join(__dirname, name);

/**
 * Runs the load generator `name` to its result, with the proxy's CPU µs spent meanwhile:
 * between the generator's two 'mark' messages when it sends them (its measured window),
 * else over its whole run.
 */
async function load<T>(setup: Running, name: string, args: string[], knobs: Knobs): Promise<[T, number]> {
  const marks: number[] = [];
  const before = cpuMicros(setup.pid);
  const result = await runForResult<T>(name, script(`${name}.js`), args, (knobs.seconds + 30) * 1000, (kind) => {
    if (kind === 'mark') marks.push(cpuMicros(setup.pid));
  });
  const after = cpuMicros(setup.pid);
  return [result, marks.length === 2 ? marks[1]! - marks[0]! : after - before];
}

const percentiles = (key: string, what: string): Metric[] => [
  { key: `${key}50`, label: `${what} p50 (ms)`, decimals: 2 },
  { key: `${key}99`, label: `${what} p99 (ms)`, decimals: 2 },
];

function small(connections: number): Scenario {
  return {
    name: `small-${connections}`,
    title: `small JSON request, ${connections} connections`,
    metrics: [
      { key: 'rps', label: 'requests/s', decimals: 0 },
      ...percentiles('latency', 'latency'),
      { key: 'cpu', label: 'proxy CPU µs/request', decimals: 1 },
      { key: 'failed', label: 'failed requests', decimals: 0 },
    ],
    async run(setup, knobs) {
      const args = [setup.origin + CHAT_PATH, String(connections), String(knobs.seconds)];
      const [r, cpu] = await load<SmallLoadResult>(setup, 'load-small', args, knobs);
      return { rps: r.ok / r.seconds, latency50: r.p50Ms, latency99: r.p99Ms, cpu: cpu / r.ok, failed: r.failed };
    },
  };
}

/**
 * `streams` concurrent SSE streams, kept open back to back. Steady (the default): their
 * starts spread evenly over one stream's length, as independent clients' are, and measured
 * after that ramp. Burst: all started at once; equal-length streams then stay in step, so
 * each round of requests reaches the proxy together (see load-sse.ts).
 */
function sse(streams: number, burst = false): Scenario {
  return {
    name: burst ? `sse-burst-${streams}` : `sse-${streams}`,
    title: burst ? `${streams} SSE streams started at once and kept in step` : `${streams} concurrent SSE streams, starts spread over a stream's length`,
    metrics: [
      { key: 'eps', label: 'events/s', decimals: 0 },
      ...percentiles('ttfb', 'first byte'),
      { key: 'cpu', label: 'proxy CPU µs/event', decimals: 2 },
      { key: 'failed', label: 'failed streams', decimals: 0 },
    ],
    async run(setup, knobs) {
      const stagger = burst ? 0 : (knobs.events * knobs.interval) / streams;
      const args = [setup.origin, String(streams), String(knobs.seconds), String(knobs.events), String(stagger)];
      const [r, cpu] = await load<SseLoadResult>(setup, 'load-sse', args, knobs);
      return { eps: r.events / r.seconds, ttfb50: r.ttfbP50Ms, ttfb99: r.ttfbP99Ms, cpu: cpu / r.events, failed: r.failed };
    },
  };
}

function idle(connections: number): Scenario {
  const WARM = 100;
  return {
    name: `idle-${connections}`,
    title: `${connections} idle keep-alive client connections (on top of ${WARM} that warm the code paths)`,
    once: true,
    metrics: [
      { key: 'kib', label: 'RSS KiB/connection', decimals: 1 },
      { key: 'failed', label: 'failed or dropped', decimals: 0 },
    ],
    async run(setup) {
      const client = forkScript('idle-conns', script('idle-conns.js'), [setup.origin]);
      // RSS after `count` more connections, once the proxy has settled (lazy allocations,
      // upstream sockets closing).
      const open = async (count: number): Promise<[Opened, number]> => {
        say(client.child, 'open', count);
        const opened = await expect<Opened>(client.child, 'opened', 60_000);
        await sleep(1000);
        return [opened, rssBytes(setup.pid)];
      };
      try {
        const [warm, before] = await open(WARM);
        const [all, after] = await open(connections);
        say(client.child, 'close');
        const dropped = await expect<number>(client.child, 'result', 10_000);
        return { kib: (after - before) / 1024 / (all.open - warm.open), failed: all.failed + dropped };
      } finally {
        await stop(client);
      }
    },
  };
}

export const SCENARIOS: Scenario[] = [idle(1000), small(64), small(256), sse(64), sse(64, true)];
