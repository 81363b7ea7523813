// npm run bench:faults — what each fault of shared/reference/reliability.md §7 costs the
// clients of Switchyard, against a no-fault baseline run side by side.
//   node dist/benchmarks/faults/run.js [SCENARIO ...] [--requests 2000] [--concurrency 16]
//        [--time-scale 0.05]
//
// Every run starts its own simulated fleet (fleet.ts, a child process: 3 switchyard-sim
// backends on 127.0.0.1, time scale 0.05) and its own daemon (dist/bin/switchyard.js, a
// child process), drives a closed-loop load from this process, and stops both by PID. For
// each scenario the baseline (same load, same config, no fault) runs first, then the fault.
// Printed per fault: requests sent, succeeded, failed, p50/p99 latency of the successes,
// the baseline's p99 and the added p99, and what the fault left behind (retries, sheds, …).
//
// Scenarios (pass names to run a subset):
//   kill        one of three backends killed at 30% of the run (running generations reset,
//               connections refused afterwards); default pool config
//   hang        one backend hangs before its first token; timeouts.first_byte 500ms
//   midstream   SSE streams; one backend killed at 30%: streams it was serving are cut
//               (failed = no `data: [DONE]`); they must not be retried
//   5xx         one backend answers 503 from 30% to 60% of the run
//   saturated   breaker.max_requests_per_backend 4 (12 slots), queue 16 / 1s; 64 clients
//               against 12 in the baseline; failed = 429 shed; daemon RSS before/after
//   storm       every backend answers 503 (outlier detection off); a quarter of --requests,
//               32 clients, 5 s client timeout
// A client gives up after 10 s (5 s in `storm`); such requests count as failed, "unanswered".
//   disconnect  100 streams, each dropped by its client while quiet (sim slowed to a token
//               every ~350 ms); time until the engine aborted the generation (time scale 1)
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { forkScript, spawnCommand, stop, stopAll, type Started } from '../common/children';
import { expect, say } from '../common/ipc';
import { freePort, waitUntil } from '../common/net';
import { rssBytes } from '../common/procstat';
import { percentile } from '../common/stats';
import { fmt, formatTable } from '../common/table';
import type { FleetBackend } from './fleet';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    'time-scale': { type: 'string', default: '0.05' },
  },
});
const REQUESTS = Number(opts.requests);
const CONCURRENCY = Number(opts.concurrency);
const TIME_SCALE = Number(opts['time-scale']);
const MODEL = 'llama-3-8b';

// --- processes ----------------------------------------------------------------------------

interface Daemon {
  proc: Started;
  url: string;
  adminUrl: string;
}

interface Setup {
  fleet: Started;
  backends: FleetBackend[];
  d: Daemon;
  agent: Agent;
}

const scratch = mkdtempSync(join(tmpdir(), 'switchyard-bench-faults-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const BIN = join(__dirname, '..', '..', 'bin', 'switchyard.js');
let runs = 0;

/** The daemon on free 127.0.0.1 ports, its log in the scratch folder; ready when /healthz answers 200. */
async function startSwitchyard(config: Record<string, unknown>): Promise<Daemon> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = join(scratch, `switchyard-${++runs}.yaml`);
  writeFileSync(file, stringify({ listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: adminPort }, ...config }));
  const proc = spawnCommand('switchyard', process.execPath, [BIN, 'start', '--config', file], join(scratch, `switchyard-${runs}.log`));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitUntil('switchyard', 15_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`switchyard exited (${proc.child.exitCode}); see ${file}`);
    try {
      const r = await request(`${adminUrl}/healthz`);
      await r.body.text();
      return r.statusCode === 200;
    } catch {
      return false;
    }
  });
  return { proc, url: `http://127.0.0.1:${port}`, adminUrl };
}

async function startSetup(fleetOpts: Record<string, unknown>, pool: Record<string, unknown>, routes?: Record<string, unknown>[]): Promise<Setup> {
  const fleet = forkScript('fleet', join(__dirname, 'fleet.js'), [JSON.stringify({ instances: 3, timeScale: TIME_SCALE, ...fleetOpts })]);
  const backends = await expect<FleetBackend[]>(fleet.child, 'ready', 15_000);
  const d = await startSwitchyard({
    log: { level: 'warn', access: false },
    shutdown: { drain_timeout: '2s' },
    pools: { p: { backends: backends.map((b) => b.url), strategy: 'round-robin', health: { enabled: false }, ...pool } },
    routes: routes ?? [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'p' }],
  });
  return { fleet, backends, d, agent: new Agent({ connections: 256, keepAliveTimeout: 10_000 }) };
}

async function stopSetup(s: Setup): Promise<void> {
  await s.agent.destroy();
  await stop(s.d.proc);
  say(s.fleet.child, 'close');
  await stop(s.fleet);
}

async function simConfig(b: FleetBackend, patch: Record<string, unknown>): Promise<void> {
  const r = await request(`${b.url}/admin/config`, { method: 'POST', body: JSON.stringify(patch), headers: { 'content-type': 'application/json' } });
  await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${b.id}: /admin/config ${r.statusCode}`);
}

async function simCounters(b: FleetBackend): Promise<Record<string, number>> {
  const r = await request(`${b.url}/sim/state`);
  return ((await r.body.json()) as { counters: Record<string, number> }).counters;
}

async function metric(s: Setup, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await request(`${s.d.adminUrl}/metrics`);
  const text = await r.body.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

// --- load ---------------------------------------------------------------------------------

interface Sample {
  ok: boolean;
  status: number;
  ms: number;
  /** The client gave up waiting (no answer at all). */
  unanswered: boolean;
  /** A stream that ended without `data: [DONE]` after a 200. */
  cut: boolean;
}

interface Load {
  requests: number;
  concurrency: number;
  stream: boolean;
  maxTokens: number;
  timeoutMs: number;
  headers?: Record<string, string>;
}

async function one(s: Setup, load: Load, i: number): Promise<Sample> {
  const start = performance.now();
  const body = JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: `request ${i}` }],
    max_tokens: load.maxTokens,
    ignore_eos: true,
    ...(load.stream ? { stream: true } : {}),
  });
  try {
    const r = await request(`${s.d.url}/v1/chat/completions`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...load.headers },
      dispatcher: s.agent,
      signal: AbortSignal.timeout(load.timeoutMs),
    });
    let text = '';
    let broken = false;
    try {
      text = await r.body.text();
    } catch {
      broken = true;
    }
    const ms = performance.now() - start;
    const cut = r.statusCode === 200 && load.stream && (broken || !text.includes('data: [DONE]'));
    return { ok: r.statusCode === 200 && !broken && !cut, status: r.statusCode, ms, unanswered: false, cut };
  } catch (err) {
    const ms = performance.now() - start;
    const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
    return { ok: false, status: 0, ms, unanswered: timedOut, cut: false };
  }
}

/** Closed loop: `concurrency` clients, `requests` in all; `before(i)` runs before request i starts. */
async function drive(s: Setup, load: Load, before?: (i: number) => Promise<void> | void): Promise<Sample[]> {
  const out: Sample[] = new Array(load.requests);
  let next = 0;
  await Promise.all(
    Array.from({ length: load.concurrency }, async () => {
      while (next < load.requests) {
        const i = next++;
        await before?.(i);
        out[i] = await one(s, load, i);
      }
    }),
  );
  return out;
}

// --- scenarios ----------------------------------------------------------------------------

interface Row {
  fault: string;
  requests: number;
  succeeded: number;
  failed: number;
  p50: number;
  p99: number;
  baseP99: number;
  notes: string;
}

interface Outcome {
  samples: Sample[];
  notes: string;
}

interface Scenario {
  name: string;
  fleet?: Record<string, unknown>;
  pool?: Record<string, unknown>;
  routes?: Record<string, unknown>[];
  baseline: Load;
  faulty: Load;
  /** Runs the faulty load (injecting the fault) and says what it left behind. */
  run(s: Setup, load: Load): Promise<Outcome>;
}

const at = (fraction: number, load: Load) => Math.floor(fraction * load.requests);
const plain = (requests = REQUESTS, concurrency = CONCURRENCY): Load => ({ requests, concurrency, stream: false, maxTokens: 32, timeoutMs: 10_000 });

const SCENARIOS: Scenario[] = [
  {
    name: 'kill',
    baseline: plain(),
    faulty: plain(),
    async run(s, load) {
      const victim = s.backends[0]!;
      const samples = await drive(s, load, (i) => (i === at(0.3, load) ? simConfig(victim, { crash: 100_000 }) : undefined));
      const retries = await metric(s, 'switchyard_retries_total', { pool: 'p' });
      const breaker = await metric(s, 'switchyard_breaker_state', { pool: 'p', backend: new URL(victim.url).host });
      return { samples, notes: `retries ${retries}; killed backend breaker ${breaker === 2 ? 'open' : breaker}` };
    },
  },
  {
    name: 'hang',
    pool: { timeouts: { first_byte: '500ms' } },
    baseline: plain(),
    faulty: plain(),
    async run(s, load) {
      await simConfig(s.backends[0]!, { stall_first_token_ms: 3_600_000 });
      const samples = await drive(s, load);
      const waited = samples.filter((x) => x.ok && x.ms >= 500).length;
      const retries = await metric(s, 'switchyard_retries_total', { pool: 'p' });
      return { samples, notes: `${waited} waited for the 500 ms first-byte timeout (max ${fmt(Math.max(...samples.map((x) => x.ms)))} ms); retries ${retries}` };
    },
  },
  {
    name: 'midstream',
    baseline: { ...plain(Math.floor(REQUESTS / 2)), stream: true, maxTokens: 64 },
    faulty: { ...plain(Math.floor(REQUESTS / 2)), stream: true, maxTokens: 64 },
    async run(s, load) {
      const victim = s.backends[0]!;
      const samples = await drive(s, load, (i) => (i === at(0.3, load) ? simConfig(victim, { crash: 100_000 }) : undefined));
      const retries = await metric(s, 'switchyard_retries_total', { pool: 'p' });
      const cut = samples.filter((x) => x.cut).length;
      return { samples, notes: `${cut} streams cut (none with [DONE]); retries ${retries} (connections refused before a first byte)` };
    },
  },
  {
    name: '5xx',
    baseline: plain(),
    faulty: plain(),
    async run(s, load) {
      const victim = s.backends[0]!;
      const samples = await drive(s, load, (i) =>
        i === at(0.3, load)
          ? simConfig(victim, { failure_rate: 100, failure_types: ['server_error'] })
          : i === at(0.6, load)
            ? simConfig(victim, { failure_rate: 0 })
            : undefined,
      );
      const injected = (await simCounters(victim)).injected_errors;
      const retries = await metric(s, 'switchyard_retries_total', { pool: 'p' });
      return { samples, notes: `${injected} 503s from the backend, ${samples.filter((x) => x.status === 503).length} reached clients; retries ${retries}` };
    },
  },
  {
    name: 'saturated',
    pool: { breaker: { max_requests_per_backend: 4 }, queue: { max: 16, timeout: '1s' } },
    baseline: { ...plain(Math.floor(REQUESTS / 2), 12), maxTokens: 128 },
    faulty: { ...plain(Math.floor(REQUESTS / 2), 64), maxTokens: 128 },
    async run(s, load) {
      const pid = s.d.proc.pid;
      const before = rssBytes(pid);
      const samples = await drive(s, load);
      const after = rssBytes(pid);
      const shed = samples.filter((x) => x.status === 429).length;
      const sheddedMax = Math.max(0, ...samples.filter((x) => x.status === 429).map((x) => x.ms));
      return {
        samples,
        notes: `${shed} shed with 429 (slowest after ${fmt(sheddedMax)} ms; queue.timeout 1 s); daemon RSS ${fmt(before / 2 ** 20, 1)} → ${fmt(after / 2 ** 20, 1)} MiB`,
      };
    },
  },
  {
    name: 'storm',
    pool: { outlier: { enabled: false } },
    baseline: { ...plain(Math.floor(REQUESTS / 4), 32), timeoutMs: 5000 },
    faulty: { ...plain(Math.floor(REQUESTS / 4), 32), timeoutMs: 5000 },
    async run(s, load) {
      for (const b of s.backends) await simConfig(b, { failure_rate: 100, failure_types: ['server_error'] });
      const samples = await drive(s, load);
      const retries = await metric(s, 'switchyard_retries_total', { pool: 'p' });
      return { samples, notes: `retries/requests ${fmt(retries / load.requests, 2)} (unanswered: the client gave up after 5 s)` };
    },
  },
];

/** 100 client disconnects on quiet streams; the engine's abort time over IPC. */
async function disconnect(rounds = 100): Promise<Row> {
  const s = await startSetup({ instances: 6, timeScale: 1 }, {});
  const delays: number[] = [];
  let missed = 0;
  try {
    for (let i = 0; i < rounds; i++) {
      const ac = new AbortController();
      const r = await request(`${s.d.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `drop ${i}` }], max_tokens: 4000, ignore_eos: true, stream: true }),
        headers: { 'content-type': 'application/json' },
        dispatcher: s.agent,
        signal: ac.signal,
      });
      const backend = s.backends.find((b) => b.id === r.headers['x-sim-backend'])!;
      const it = r.body[Symbol.asyncIterator]();
      let text = '';
      const events = () => text.split('\n\n').filter((e) => e.startsWith('data: ')).length;
      for (let k = 0; k < 1000 && events() < 2; k++) text += ((await it.next()).value as Buffer).toString();
      await simConfig(backend, { slowdown: 50 });
      const seen = events();
      for (let k = 0; k < 1000 && events() <= seen; k++) text += ((await it.next()).value as Buffer).toString();
      const aborted = expect<{ id: string; at: number }>(s.fleet.child, 'abort', 2000);
      const closedAt = Date.now();
      ac.abort();
      try {
        delays.push((await aborted).at - closedAt);
      } catch {
        missed++;
      }
      await simConfig(backend, { slowdown: 1 });
    }
  } finally {
    await stopSetup(s);
  }
  return {
    fault: 'disconnect',
    requests: rounds,
    succeeded: delays.filter((d) => d <= 100).length,
    failed: missed + delays.filter((d) => d > 100).length,
    p50: percentile(delays, 50),
    p99: percentile(delays, 99),
    baseP99: NaN,
    notes: `engine abort after the client's close: p50 ${fmt(percentile(delays, 50))} ms, p99 ${fmt(percentile(delays, 99))} ms, max ${fmt(Math.max(...delays))} ms; succeeded = within 100 ms`,
  };
}

/** "2× 502, 1 cut, 3 unanswered": what the failed requests got. */
function breakdown(samples: Sample[]): string {
  const counts = new Map<string, number>();
  for (const x of samples) {
    if (x.ok) continue;
    const key = x.unanswered ? 'unanswered' : x.cut ? 'cut' : x.status === 0 ? 'socket error' : String(x.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ');
}

function summarize(samples: Sample[]) {
  const okMs = samples.filter((x) => x.ok).map((x) => x.ms);
  return { succeeded: okMs.length, failed: samples.length - okMs.length, p50: percentile(okMs, 50), p99: percentile(okMs, 99) };
}

async function runScenario(sc: Scenario): Promise<Row> {
  const base = await startSetup(sc.fleet ?? {}, sc.pool ?? {}, sc.routes);
  let baseline: Sample[];
  try {
    baseline = await drive(base, sc.baseline);
  } finally {
    await stopSetup(base);
  }
  const s = await startSetup(sc.fleet ?? {}, sc.pool ?? {}, sc.routes);
  let outcome: Outcome;
  try {
    outcome = await sc.run(s, sc.faulty);
  } finally {
    await stopSetup(s);
  }
  const b = summarize(baseline);
  const f = summarize(outcome.samples);
  const baseNote = b.failed ? `; baseline failures: ${breakdown(baseline)}` : '';
  const failNote = f.failed ? `; failures: ${breakdown(outcome.samples)}` : '';
  return { fault: sc.name, requests: outcome.samples.length, ...f, baseP99: b.p99, notes: outcome.notes + failNote + baseNote };
}

async function main(): Promise<void> {
  const names = positionals.length ? positionals : [...SCENARIOS.map((s) => s.name), 'disconnect'];
  const unknown = names.filter((n) => n !== 'disconnect' && !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  console.log(
    `bench:faults — ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ` +
      `--requests ${REQUESTS} --concurrency ${CONCURRENCY} --time-scale ${TIME_SCALE}; 3 simulated backends, round-robin`,
  );
  const rows: Row[] = [];
  for (const name of names) {
    const started = Date.now();
    const row = name === 'disconnect' ? await disconnect() : await runScenario(SCENARIOS.find((s) => s.name === name)!);
    rows.push(row);
    console.log(`  ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log();
  console.log(
    formatTable(
      ['fault', 'requests', 'succeeded', 'failed', 'p50 ms', 'p99 ms', 'baseline p99 ms', 'added p99 ms', 'notes'],
      rows.map((r) => [
        r.fault,
        fmt(r.requests),
        fmt(r.succeeded),
        fmt(r.failed),
        fmt(r.p50),
        fmt(r.p99),
        fmt(r.baseP99),
        Number.isFinite(r.baseP99) ? fmt(r.p99 - r.baseP99) : '—',
        r.notes,
      ]),
    ),
  );
  console.log('\nLatencies are of the successful requests; `disconnect` reports the abort delay in ms instead (no baseline).');
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
