// Instructions per request: the data plane's work counted, not timed.
//   node dist/benchmarks/proxy/instructions.js [--setups switchyard,bare] [--warm 30000]
//        [--requests 5000] [--windows 4] [--connections 64] [--keep]
// (--keep leaves callgrind's dumps for callgrind_annotate, and prints where.)
//
// Why: on a shared machine the CPU time of one request drifts by tens of percent from one
// second to the next (another tenant's load, the core a process lands on), which run.ts
// can only answer with rounds and medians. The instructions a proxy's main thread executes
// per request do not drift: each setup runs under valgrind's callgrind, is warmed up
// (JIT compilation done), and then counts the instructions of exactly REQUESTS small
// requests, each answered before the count is read (load-count.ts), in several windows.
//
// What is counted, per setup:
// - the main thread (--separate-threads=yes), where the request path runs. V8's helper
//   threads (concurrent compilation, GC) are listed apart: how much they do in a window
//   depends on when the JIT happens to recompile, which is not a cost per request;
// - minus the same thread's instructions over an idle window of the same length: timers
//   and other background work fire per second of wall time, and under valgrind a second
//   holds ~50× fewer requests than natively, so left in, they would be charged ~50× over.
// Instructions are not time: cache misses and branch mispredictions are not in them (add
// `--cache-sim=yes --branch-sim=yes` to VALGRIND_OPTIONS and read the dumps with
// callgrind_annotate to see those).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { forkScript, runForResult, stopAll } from '../common/children';
import { expect } from '../common/ipc';
import { median } from '../common/stats';
import { fmt, formatTable } from '../common/table';
import type { CountLoadResult } from './load-count';
import { SETUPS, selectSetups, type Running, type Setup } from './setups';
import { bare } from './setups/bare';
import { CHAT_PATH } from './workload';

const { values: opts } = parseArgs({
  options: {
    setups: { type: 'string', default: 'switchyard,bare' },
    warm: { type: 'string', default: '30000' },
    requests: { type: 'string', default: '5000' },
    windows: { type: 'string', default: '4' },
    connections: { type: 'string', default: '64' },
    keep: { type: 'boolean', default: false },
  },
});
const warm = Number(opts.warm);
const requests = Number(opts.requests);
const windowCount = Math.max(1, Number(opts.windows));
const connections = String(Number(opts.connections));

/** One counted window. */
interface Window {
  /** Main-thread instructions per request, the idle window's subtracted. */
  main: number;
  /** The idle window's main-thread instructions, per request of the loaded window. */
  idle: number;
  /** Other threads' instructions per request (JIT compilation, GC helpers, worker threads). */
  others: number;
}

/** A setup's least window (by main-thread instructions), and the median of its windows. */
export interface Count extends Window {
  setup: string;
  requests: number;
  median: number;
  windows: number;
}

export function summarize(setup: string, requests: number, windows: Window[]): Count {
  const least = windows.reduce((a, b) => (b.main < a.main ? b : a));
  return { setup, requests, ...least, median: median(windows.map((w) => w.main)), windows: windows.length };
}

/** Instructions of each thread in one dump: callgrind's `summary:` per `PREFIX.PID.out.N-TT` file. */
export function dumpTotals(dir: string, prefix: string, pid: number, dump: number): Map<number, number> {
  const name = `${prefix}.${pid}.out.${dump}-`;
  const totals = new Map<number, number>();
  for (const file of readdirSync(dir).filter((f) => f.startsWith(name))) {
    const summary = /^summary:\s+(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    totals.set(Number(file.slice(name.length)), summary ? Number(summary[1]) : 0);
  }
  return totals;
}

function control(pid: number, what: '-z' | '-d'): void {
  execFileSync('callgrind_control', [what, String(pid)], { stdio: 'ignore' });
}

function load(r: Running, count: number): Promise<CountLoadResult> {
  return runForResult<CountLoadResult>('load-count', join(__dirname, 'load-count.js'), [r.origin + CHAT_PATH, connections, String(count)], 600_000);
}

async function count(setup: Setup, backend: string, backendPid: number, dir: string): Promise<Count> {
  const prefix = setup.name.replace(/\W+/g, '-').toLowerCase();
  const launcher = ['valgrind', '-q', '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(dir, prefix)}.%p.out`, ...(process.env.VALGRIND_OPTIONS?.split(/\s+/).filter(Boolean) ?? [])];
  const r = await setup.start({ backend, backendPid, dir, launcher, startTimeoutMs: 300_000 });
  try {
    console.error(`  ${setup.name}: warming up (${warm} requests)`);
    const warmed = await load(r, warm);
    if (warmed.failed > 0) throw new Error(`${setup.name}: ${warmed.failed} warm-up requests failed`);
    // Windows back to back. The JIT still deoptimizes and recompiles now and then (more
    // under valgrind, whose timing differs), which can only add instructions to the window
    // it falls in: the least of the windows is the figure, their median is shown beside it.
    const windows: Window[] = [];
    for (let w = 0; w < windowCount; w++) {
      console.error(`  ${setup.name}: counting ${requests} requests (window ${w + 1} of ${windowCount})`);
      control(r.pid, '-z');
      const measured = await load(r, requests);
      control(r.pid, '-d');
      if (measured.failed > 0 || measured.ok !== requests) throw new Error(`${setup.name}: ${measured.ok} of ${requests} requests answered`);
      // The same thread at rest for as long: what it does per second whatever the load.
      control(r.pid, '-z');
      await sleep(measured.seconds * 1000);
      control(r.pid, '-d');
      const loaded = dumpTotals(dir, prefix, r.pid, 2 * w + 1);
      const idle = dumpTotals(dir, prefix, r.pid, 2 * w + 2);
      let others = 0;
      for (const [thread, n] of loaded) if (thread !== 1) others += n;
      const idleMain = idle.get(1) ?? 0;
      windows.push({ main: ((loaded.get(1) ?? 0) - idleMain) / requests, idle: idleMain / requests, others: others / requests });
    }
    return summarize(setup.name, requests, windows);
  } finally {
    await r.stop();
  }
}

export function countTable(counts: Count[]): string {
  const floor = counts.find((c) => c.setup === bare.name);
  const rows = counts.map((c) => [
    c.setup,
    fmt(c.main / 1000, 1),
    floor ? `${fmt(c.main / floor.main, 3)}×` : '—',
    fmt(c.median / 1000, 1),
    fmt(c.idle / 1000, 1),
    fmt(c.others / 1000, 1),
  ]);
  return formatTable(
    ['setup', 'main thread, k instructions/request (least window)', '÷ bare Node', 'median window', 'idle main thread (subtracted)', 'other threads'],
    rows,
  );
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.log('valgrind is not installed (apt-get install valgrind): nothing measured.');
    return;
  }
  // Node setups only: valgrind runs node (HAProxy and NGINX are not Node; direct has no proxy).
  const setups = selectSetups(opts.setups.split(',')).filter((s) => s.launchable);
  if (setups.length === 0) throw new Error(`no Node setup matches --setups ${opts.setups}; known: ${SETUPS.filter((s) => s.launchable).map((s) => s.name).join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-instructions-'));
  try {
    const backend = forkScript('backend', join(__dirname, 'backend.js'), ['64', '5']);
    const port = await expect<number>(backend.child, 'ready', 10_000);
    console.log(`instructions per request: ${warm} requests to warm up, then ${windowCount} windows of ${requests}, ${connections} connections, under callgrind\n`);
    const counts: Count[] = [];
    for (const setup of setups) counts.push(await count(setup, `http://127.0.0.1:${port}`, backend.pid, dir));
    console.log(countTable(counts));
  } finally {
    await stopAll();
    if (opts.keep) console.log(`\nThe dumps (callgrind_annotate reads them): ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));
}
