// The hot-reload benchmark: `npm run bench:reload`.
//   node dist/benchmarks/reload/run.js [--connections 64] [--reloads 100] [--rounds 5]
//        [--quiet 2] [--pace 100] [--trigger mixed|file|sighup] [--warmup 2]
//        [--same-weights] (reload a config that differs only by a comment)
//        [--control]      (A/A: the reload windows make no reload)
//
// One run under one 64-connection autocannon load (POST /v1/chat/completions with a model,
// through Switchyard, to a fast backend split blue/green), in `--rounds` rounds, each a
// quiet window and a reload window, then a last quiet window:
//   quiet      `--quiet` seconds without reloads;
//   reloading  reloads/rounds reloads, one every `--pace` ms at most, weights alternating
//              90/10 and 10/90; each reload is awaited (the daemon's 'config reloaded' log
//              line) before the next. `mixed` alternates a file write (the daemon's file
//              watch) and SIGHUP (the file written through a hard link the watch does not
//              see, so the signal is what reloads).
// The windows alternate so that both see the same noise from the machine. Reported side by
// side: requests, failed requests (non-2xx, errors, timeouts), p50/p99/max latency with
// and without reloads, and how long reloads took to apply. Exits 1 when any request failed
// or any reload did not happen.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';

// --- autocannon (ships no types; only what is used here) --------------------------------
interface AcOptions {
  url: string;
  connections: number;
  duration: number;
  method: string;
  headers: Record<string, string>;
  body: string;
  timeout: number;
}
interface AcResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
}
interface AcInstance extends EventEmitter {
  stop(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (o: AcOptions, cb: (err: Error | null, r: AcResult) => void) => AcInstance;

const { values: opts } = parseArgs({
  options: {
    connections: { type: 'string', default: '64' },
    reloads: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    quiet: { type: 'string', default: '2' },
    pace: { type: 'string', default: '100' },
    trigger: { type: 'string', default: 'mixed' },
    warmup: { type: 'string', default: '2' },
    'same-weights': { type: 'boolean', default: false },
    control: { type: 'boolean', default: false },
  },
});
const CONNECTIONS = Number(opts.connections);
const RELOADS = Number(opts.reloads);
const ROUNDS = Number(opts.rounds);
const QUIET_S = Number(opts.quiet);
const PACE_MS = Number(opts.pace);
const WARMUP_S = Number(opts.warmup);
/** Reload a config that differs only in a comment: the cost of a reload without a weight flip. */
const SAME_WEIGHTS = opts['same-weights'] === true;
/**
 * A/A control: the reload windows do everything but reload (the file is written through the
 * hard link and no signal is sent), to show what the window split itself does to the figures.
 */
const CONTROL = opts.control === true;
const TRIGGER = opts.trigger as 'mixed' | 'file' | 'sighup';
if (!['mixed', 'file', 'sighup'].includes(TRIGGER)) throw new Error('--trigger is mixed, file or sighup');

const root = join(__dirname, '..', '..', '..'); // dist/benchmarks/reload -> the repository
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

// --- backends -------------------------------------------------------------------------------
interface Backends {
  ports: number[];
  /** Connections the backends have accepted so far. */
  accepted(): Promise<number>;
}

async function startBackends(): Promise<Backends> {
  const child = fork(join(__dirname, 'backend.js'), ['2'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('message', (m: { type: string; ports: number[] }) => resolve(m.ports));
    child.once('exit', (code) => reject(new Error(`backend exited ${code}`)));
  });
  return {
    ports,
    accepted: () =>
      new Promise((resolve) => {
        child.once('message', (m: { type: string; accepted: number }) => resolve(m.accepted));
        child.send({ type: 'connections' });
      }),
  };
}

// --- the daemon -----------------------------------------------------------------------------
interface Daemon {
  proc: ChildProcess;
  port: number;
  adminPort: number;
  reloaded: number;
  refused: number;
  /** 'backend added' log lines after start: a reload that rebuilt a pool would add some. */
  backendsAdded: number;
  /** Resolves when `reloaded` reaches n; rejects after timeoutMs. */
  reloadedCount(n: number, timeoutMs: number): Promise<void>;
}

function configText(ports: number[], blue: number, green: number, comment = ''): string {
  return comment + stringify({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info', access: false },
    pools: {
      blue: { backends: [`http://127.0.0.1:${ports[0]}`], strategy: 'least-request' },
      green: { backends: [`http://127.0.0.1:${ports[1]}`], strategy: 'least-request' },
    },
    routes: [{ name: 'chat', match: { model: 'bench-model', path_prefix: '/v1/' }, split: { blue, green } }],
  });
}

async function startDaemon(configPath: string): Promise<Daemon> {
  const proc = spawn(process.execPath, [join(root, 'dist', 'bin', 'switchyard.js'), 'start', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  const waiters: { n: number; resolve: () => void }[] = [];
  let onStarted: (ports: [number, number]) => void = () => undefined;
  const started = new Promise<[number, number]>((resolve, reject) => {
    onStarted = resolve;
    proc.once('exit', (code) => reject(new Error(`switchyard exited ${code}`)));
  });
  const d = {
    proc,
    port: 0,
    adminPort: 0,
    reloaded: 0,
    refused: 0,
    backendsAdded: 0,
    reloadedCount(n: number, timeoutMs: number) {
      if (d.reloaded >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reload ${n} not seen within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let l: { msg?: string; listen?: { port: number }; admin?: { port: number } };
    try {
      l = JSON.parse(line);
    } catch {
      return;
    }
    if (l.msg === 'switchyard started') onStarted([l.listen!.port, l.admin!.port]);
    else if (l.msg === 'config reloaded') {
      d.reloaded++;
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.n <= d.reloaded) waiters.splice(i, 1)[0]!.resolve();
    } else if (l.msg === 'backend added' && d.port !== 0) d.backendsAdded++;
    else if (l.msg?.startsWith('config reload refused') || l.msg?.startsWith('config reload failed')) d.refused++;
  });
  [d.port, d.adminPort] = await started;
  return d;
}

// --- measurement ----------------------------------------------------------------------------
type Phase = 'warmup' | 'quiet' | 'reloading' | 'done';
interface PhaseStats {
  latencies: number[];
  non2xx: number;
  errors: number;
  /** Seconds spent in this phase, over all its windows. */
  seconds: number;
  /** CPU seconds the daemon used in this phase (NaN where /proc is not there). */
  cpu: number;
  /** Connections the backends accepted in this phase (Switchyard opening upstream connections). */
  connections: number;
}

/** CPU seconds (user + system) a process has used, from /proc; NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return NaN;
  }
}
const PHASES = ['quiet', 'reloading'] as const;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(head), rule, ...rows.map(line)].join('\n');
}

async function metricValue(adminPort: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function main(): Promise<void> {
  const backends = await startBackends();
  const ports = backends.ports;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-reload-'));
  const linkDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-reload-link-'));
  const configPath = join(dir, 'switchyard.yaml');
  const linkPath = join(linkDir, 'switchyard.yaml');
  process.on('exit', () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(linkDir, { recursive: true, force: true });
  });
  writeFileSync(configPath, configText(ports, 90, 10));
  linkSync(configPath, linkPath);
  const d = await startDaemon(configPath);

  const stats = Object.fromEntries(PHASES.map((p) => [p, { latencies: [], non2xx: 0, errors: 0, seconds: 0, cpu: 0, connections: 0 } as PhaseStats])) as Record<
    (typeof PHASES)[number],
    PhaseStats
  >;
  const errorKinds = new Map<string, number>();
  let phase: Phase = 'warmup';
  let enteredAt = 0;
  let cpuAt = 0;
  let acceptedAt = 0;
  const enter = async (p: Phase) => {
    const now = performance.now();
    const cpu = cpuSeconds(d.proc.pid!);
    const was = phase;
    if (was !== 'warmup' && was !== 'done') {
      stats[was].seconds += (now - enteredAt) / 1000;
      stats[was].cpu += cpu - cpuAt;
    }
    phase = p;
    enteredAt = now;
    cpuAt = cpu;
    const accepted = await backends.accepted();
    if (was !== 'warmup' && was !== 'done') stats[was].connections += accepted - acceptedAt;
    acceptedAt = accepted;
  };

  console.log(
    `reload benchmark: ${CONNECTIONS} connections, ${RELOADS} reloads (${TRIGGER}) in ${ROUNDS} rounds, ${QUIET_S} s quiet windows; ` +
      `${cpus().length} CPUs, node ${process.version}`,
  );
  let result!: Promise<AcResult>;
  const load = (() => {
    let instance!: AcInstance;
    result = new Promise((resolve, reject) => {
      instance = autocannon(
        {
          url: `http://127.0.0.1:${d.port}/v1/chat/completions`,
          connections: CONNECTIONS,
          duration: 3600, // stopped when the phases are done
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 1 }),
          timeout: 10,
        },
        (err, r) => (err ? reject(err) : resolve(r)),
      );
    });
    return instance;
  })();
  load.on('response', (_client: unknown, status: number, _bytes: number, latencyMs: number) => {
    if (phase === 'warmup' || phase === 'done') return;
    const s = stats[phase];
    if (status >= 200 && status < 300) s.latencies.push(latencyMs);
    else s.non2xx++;
  });
  load.on('reqError', (err: Error) => {
    if (phase === 'warmup' || phase === 'done') return;
    stats[phase].errors++;
    errorKinds.set(err.message, (errorKinds.get(err.message) ?? 0) + 1);
  });

  await sleep(WARMUP_S * 1000);
  const applyMs: Record<'file' | 'sighup', number[]> = { file: [], sighup: [] };
  let missed = 0;
  let done = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await enter('quiet');
    await sleep(QUIET_S * 1000);
    await enter('reloading');
    const t0 = performance.now();
    const inRound = Math.round(((round + 1) * RELOADS) / ROUNDS) - done;
    for (let j = 0; j < inRound; j++, done++) {
      const wait = t0 + j * PACE_MS - performance.now();
      if (wait > 0) await sleep(wait);
      const text = SAME_WEIGHTS
        ? configText(ports, 90, 10, `# reload ${done}\n`)
        : done % 2 === 0
          ? configText(ports, 10, 90)
          : configText(ports, 90, 10);
      const trigger = TRIGGER === 'mixed' ? (done % 2 === 0 ? 'file' : 'sighup') : TRIGGER;
      if (CONTROL) {
        writeFileSync(linkPath, text);
        await sleep(PACE_MS);
        continue;
      }
      const seen = d.reloadedCount(d.reloaded + 1, 5000);
      const start = performance.now();
      if (trigger === 'file') writeFileSync(configPath, text);
      else {
        writeFileSync(linkPath, text);
        d.proc.kill('SIGHUP');
      }
      try {
        await seen;
        applyMs[trigger].push(performance.now() - start);
      } catch {
        missed++;
      }
    }
  }
  await enter('quiet');
  await sleep(QUIET_S * 1000);
  await enter('done');
  load.stop();
  const total = await result;

  const successes = await metricValue(d.adminPort, 'switchyard_config_reloads_total', 'result="success"');
  const failures = await metricValue(d.adminPort, 'switchyard_config_reloads_total', 'result="failure"');
  d.proc.kill('SIGTERM');

  // --- report ---------------------------------------------------------------------------------
  const rows: string[][] = [];
  const sorted: Record<string, Float64Array> = {};
  const label = { quiet: `without reloads (${ROUNDS + 1} windows)`, reloading: `during ${RELOADS} reloads (${ROUNDS} windows)` };
  for (const p of PHASES) {
    const s = stats[p];
    const lat = Float64Array.from(s.latencies).sort();
    sorted[p] = lat;
    const failed = s.non2xx + s.errors;
    const cpuPerK = (s.cpu / (lat.length + failed)) * 1e6; // daemon CPU ms per 1,000 requests
    rows.push([
      label[p],
      s.seconds.toFixed(1),
      String(lat.length + failed),
      (lat.length / s.seconds).toFixed(0),
      String(failed),
      ms(percentile(lat, 50)),
      ms(percentile(lat, 99)),
      ms(lat[lat.length - 1] ?? NaN),
      Number.isFinite(cpuPerK) ? cpuPerK.toFixed(0) : '—',
      String(s.connections),
    ]);
  }
  console.log('\n' + table(['phase', 's', 'requests', 'req/s', 'failed', 'p50 ms', 'p99 ms', 'max ms', 'daemon CPU ms / 1k req', 'new upstream conns'], rows));
  // What the reloads themselves cost the daemon: its CPU in the reload windows beyond what
  // the same number of requests cost in the quiet windows.
  const q = stats.quiet;
  const r = stats.reloading;
  const perRequest = q.cpu / (q.latencies.length + q.non2xx + q.errors);
  const extra = r.cpu - perRequest * (r.latencies.length + r.non2xx + r.errors);
  if (Number.isFinite(extra)) console.log(`\ndaemon CPU beyond request handling in the reload windows: ${(extra * 1000).toFixed(0)} ms, ≈ ${((extra * 1000) / RELOADS).toFixed(2)} ms per reload`);

  const p99r = percentile(sorted.reloading!, 99);
  const p99q = percentile(sorted.quiet!, 99);
  console.log(`\np99 during reloads ${ms(p99r)} ms vs ${ms(p99q)} ms without (×${(p99r / p99q).toFixed(2)})`);

  const applyRows = (['file', 'sighup'] as const)
    .filter((k) => applyMs[k].length > 0)
    .map((k) => {
      const a = Float64Array.from(applyMs[k]).sort();
      return [k === 'file' ? 'file write (watch, 100 ms debounce)' : 'SIGHUP', String(a.length), ms(percentile(a, 50)), ms(percentile(a, 99)), ms(a[a.length - 1]!)];
    });
  console.log('\n' + table(['reload trigger', 'reloads', 'p50 ms to applied', 'p99 ms', 'max ms'], applyRows));

  const allFailed = PHASES.reduce((n, p) => n + stats[p].non2xx + stats[p].errors, 0);
  console.log(
    `\nreloads applied: ${d.reloaded} of ${RELOADS} (missed ${missed}); refused: ${d.refused}; ` +
      `switchyard_config_reloads_total success=${successes} failure=${failures}; pools rebuilt by reloads: ${d.backendsAdded === 0 ? 'none' : `${d.backendsAdded} backends added`}`,
  );
  console.log(`failed requests in the measured phases: ${allFailed}; autocannon totals: errors=${total.errors} timeouts=${total.timeouts} non2xx=${total.non2xx} of ${total.requests.total}`);
  for (const [kind, n] of errorKinds) console.log(`  error: ${kind} ×${n}`);
  const ok = allFailed === 0 && total.errors === 0 && total.non2xx === 0 && d.reloaded === (CONTROL ? 0 : RELOADS) && missed === 0 && failures === 0;
  if (CONTROL) console.log('\nCONTROL RUN: no reload was made; the "reloads" windows only paced and wrote an unwatched file.');
  console.log(ok ? '\nPASS: zero failed requests across all reloads' : '\nFAIL');
  process.exitCode = ok ? 0 : 1;
}

main().then(
  () => process.exit(),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
