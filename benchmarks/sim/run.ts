// npm run bench:sim — the simulator against the spec's acceptance targets, and its capacity.
//
// 1. W1 (SGLang generated-shared-prefix, shared/reference/simulator.md §7): 64 groups × 16
//    prompts, 2,048-token system prompt, 128-token question, 256 output tokens (ignore_eos),
//    shuffled and sent all at once to 8 backends of the default profile. Policies, applied by
//    this runner (no proxy): round-robin; an oracle that sends a group to the backend that
//    served it before (first sighting: the backend with the fewest groups); random. Each
//    policy starts with cold caches. Figures are in model time.
//    Targets: oracle hit rate ≥ 2.5× round-robin's, throughput 1.5–2.3× round-robin's.
//    a. on 8 Engines driven by a virtual clock: exact and deterministic, whatever the load of
//       the machine; also a sweep of the calibration (b, T0), as the spec says to recalibrate;
//    b. end to end over HTTP (the CLI, real sockets, time scale --w1-scale): the same figures
//       as the client sees them; they match (a) when the simulator keeps up (tick lag).
// 2. Capacity: one simulator process, 8 backends × N concurrent streams each (closed loop,
//    ShareGPT-like lengths), at several time scales. The clock is true when the inter-token
//    latency the client observes (real ms ÷ time scale) matches the engine's own (model ms)
//    within 5%; the tick lag (how late the simulator's timer ran, real ms) says by how much
//    delivery trailed the model clock.
//
// 3. Abort latency: a client drops a stream mid-generation; how long until /sim/state counts
//    the abort (the proxy's tests expect it within 100 ms).
//
// The simulator runs as the real CLI (dist/bin/switchyard-sim.js) in a child process; this
// process is the load generator. Options: --w1-scale X (default 1), --capacity
// streams@scale,… (default 64@1,64@0.5,64@0.25,128@1), --capacity-seconds N (default 10),
// --only w1|capacity|abort. SIM_NODE_ARGS="--cpu-prof" profiles the simulator.
import { setMaxListeners } from 'node:events';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnCommand, stop, stopAll, type Started } from '../common/children';
import { cpuMicros } from '../common/procstat';
import { percentile } from '../common/stats';
import { fmt, formatTable } from '../common/table';
import { LoadClient, drive, type Sample } from '../routing/client';
import { noPrefix, rng, sharedPrefix, type ChatRequest } from '../routing/workloads';
import { Engine, getProfile, renderChat, startSimFleet, tokenize, type EngineRequest, type Profile, type SimState } from '../../lib/sim';

const { values: opts } = parseArgs({
  options: {
    'w1-scale': { type: 'string', default: '1' },
    capacity: { type: 'string', default: '64@1,64@0.5,64@0.25,128@1' },
    'capacity-seconds': { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});

setMaxListeners(0); // the load client shares one AbortSignal among all requests in flight

const BIN = join(__dirname, '..', '..', 'bin', 'switchyard-sim.js');
const INSTANCES = 8;
const logDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-sim-'));

interface Sim {
  proc: Started;
  urls: string[];
}

/** Start the simulator CLI and wait for its "ready" line. */
async function startSim(args: string[]): Promise<Sim> {
  const log = join(logDir, `sim-${Date.now()}.log`);
  const nodeArgs = process.env.SIM_NODE_ARGS ? process.env.SIM_NODE_ARGS.split(' ') : []; // e.g. --cpu-prof
  const proc = spawnCommand('switchyard-sim', process.execPath, [...nodeArgs, BIN, '--port', '0', '--instances', String(INSTANCES), ...args], log);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = readFileSync(log, 'utf8');
    const m = /ready: \d+ backend\(s\) on ports ([\d,]+), time scale/.exec(text);
    if (m) return { proc, urls: m[1]!.split(',').map((p) => `http://127.0.0.1:${p}`) };
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`switchyard-sim did not start:\n${text}`);
    await sleep(50);
  }
}

async function simState(url: string): Promise<SimState> {
  return (await (await fetch(`${url}/sim/state`)).json()) as SimState;
}

/** Mean of a histogram (sum/count) summed over the backends, from /metrics. */
async function histMean(urls: string[], name: string): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const u of urls) {
    const text = await (await fetch(`${u}/metrics`)).text();
    sum += Number(new RegExp(`^${name}_sum\\{[^}]*\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    count += Number(new RegExp(`^${name}_count\\{[^}]*\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  }
  return count ? sum / count : NaN;
}

// --- W1 ------------------------------------------------------------------------------------

type Policy = 'round-robin' | 'oracle' | 'random';

interface W1Result {
  policy: Policy;
  requests: number;
  errors: number;
  hitRate: number;
  engineHitRate: number;
  makespanS: number;
  outTokS: number;
  ttftMeanS: number;
  ttftP90S: number;
  lagP99Ms: number;
  realS: number;
}

const W1_SHAPE = { groups: 64, perGroup: 16, systemTokens: 2048, questionTokens: 128, outputTokens: 256 };

/** The W1 requests in send order, and a chooser of backend per policy. */
function w1Requests(): ChatRequest[] {
  const workload = sharedPrefix(W1_SHAPE, 4242);
  const reqs: ChatRequest[] = [];
  for (let r = workload.next(); r; r = workload.next()) reqs.push(r);
  return reqs;
}

function chooser(policy: Policy): (req: ChatRequest, i: number) => number {
  const groupsPer = new Array<number>(INSTANCES).fill(0);
  const home = new Map<string, number>();
  const rand = rng(7);
  return (req, i) => {
    if (policy === 'round-robin') return i % INSTANCES;
    if (policy === 'random') return Math.floor(rand() * INSTANCES);
    const sys = (req.body.messages as { content: string }[])[0]!.content; // the group's shared prompt
    let b = home.get(sys);
    if (b === undefined) {
      b = groupsPer.indexOf(Math.min(...groupsPer));
      groupsPer[b]!++;
      home.set(sys, b);
    }
    return b;
  };
}

/** W1 on 8 engines with a virtual clock: every request arrives at model time 0. */
function runW1Virtual(policy: Policy, profile: Profile, reqs: ChatRequest[]): W1Result {
  const engines = Array.from({ length: INSTANCES }, (_, i) => new Engine({ profile, seed: 1 + i }));
  const pick = chooser(policy);
  const all: EngineRequest[] = reqs.map((req, i) =>
    engines[pick(req, i)]!.submit({
      model: profile.defaultModel,
      promptTokens: tokenize(renderChat(req.body.messages as { role: string; content: string }[])),
      maxTokens: req.body.max_tokens as number,
      ignoreEos: true,
    }),
  );
  for (const e of engines) e.advanceTo(Number.MAX_SAFE_INTEGER);
  const makespanS = Math.max(...all.map((r) => r.finishedAt)) / 1000;
  const ttfts = all.map((r) => (r.firstTokenAt - r.arrival) / 1000);
  const t = engines.map((e) => e.totals());
  const hits = t.reduce((a, x) => a + x.prefixHits, 0);
  const queries = t.reduce((a, x) => a + x.prefixQueries, 0);
  return {
    policy,
    requests: all.length,
    errors: all.filter((r) => r.output !== W1_SHAPE.outputTokens).length,
    hitRate: all.reduce((a, r) => a + r.cachedTokens, 0) / all.reduce((a, r) => a + r.promptLen, 0),
    engineHitRate: hits / queries,
    makespanS,
    outTokS: all.reduce((a, r) => a + r.output, 0) / makespanS,
    ttftMeanS: ttfts.reduce((a, b) => a + b, 0) / ttfts.length,
    ttftP90S: percentile(ttfts, 90),
    lagP99Ms: 0,
    realS: 0,
  };
}

/** W1 end to end: a fresh simulator process per policy, the requests over HTTP. */
async function runW1Http(policy: Policy, timeScale: number, reqs: ChatRequest[]): Promise<W1Result> {
  const sim = await startSim(['--time-scale', String(timeScale), '--seed', '1']);
  const clients = sim.urls.map((u) => new LoadClient(u, 256));
  try {
    const pick = chooser(policy);
    const t0 = performance.now();
    const samples: Sample[] = await Promise.all(reqs.map((req, i) => clients[pick(req, i)]!.send(req, false).then((r) => r.sample)));
    const realMs = performance.now() - t0;
    const ok = samples.filter((s) => !s.error);
    const states = await Promise.all(sim.urls.map(simState));
    const hits = states.reduce((a, s) => a + s.counters.prefix_cache_hits, 0);
    const queries = states.reduce((a, s) => a + s.counters.prefix_cache_queries, 0);
    const makespanS = Math.max(...ok.map((s) => s.start + s.e2e)) / 1000 / timeScale;
    const out = ok.reduce((a, s) => a + s.outputTokens, 0);
    const ttfts = ok.map((s) => s.ttft / 1000 / timeScale);
    return {
      policy,
      requests: samples.length,
      errors: samples.length - ok.length,
      hitRate: ok.reduce((a, s) => a + s.cachedTokens, 0) / ok.reduce((a, s) => a + s.promptTokens, 0),
      engineHitRate: hits / queries,
      makespanS,
      outTokS: out / makespanS,
      ttftMeanS: ttfts.reduce((a, b) => a + b, 0) / ttfts.length,
      ttftP90S: percentile(ttfts, 90),
      lagP99Ms: states[0]!.clock.p99,
      realS: realMs / 1000,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stop(sim.proc);
  }
}

function w1Table(results: W1Result[], http: boolean): string {
  return formatTable(
    ['policy', 'requests', 'errors', 'hit rate (client)', 'hit rate (engine)', 'makespan s', 'out tok/s', 'TTFT mean s', 'TTFT p90 s', ...(http ? ['tick lag p99 ms'] : [])],
    results.map((r) => [
      r.policy,
      String(r.requests),
      String(r.errors),
      `${fmt(r.hitRate * 100, 1)}%`,
      `${fmt(r.engineHitRate * 100, 1)}%`,
      fmt(r.makespanS, 2),
      fmt(r.outTokS),
      fmt(r.ttftMeanS, 2),
      fmt(r.ttftP90S, 2),
      ...(http ? [fmt(r.lagP99Ms, 1)] : []),
    ]),
  );
}

function verdict(results: W1Result[]): string {
  const rr = results.find((r) => r.policy === 'round-robin')!;
  const or = results.find((r) => r.policy === 'oracle')!;
  const hitX = or.hitRate / rr.hitRate;
  const tputX = or.outTokS / rr.outTokS;
  return (
    `oracle vs round-robin: hit rate ${fmt(hitX, 2)}× (target ≥ 2.5×: ${hitX >= 2.5 ? 'met' : 'MISSED'}), ` +
    `throughput ${fmt(tputX, 2)}× (target 1.5–2.3×: ${tputX >= 1.5 && tputX <= 2.3 ? 'met' : 'MISSED'})`
  );
}

// --- capacity --------------------------------------------------------------------------------

interface CapResult {
  timeScale: number;
  streams: number;
  requests: number;
  errors: number;
  tokPerRealS: number;
  clientItlMs: number;
  engineItlMs: number;
  itlRatio: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  simCpu: number;
  running: number;
}

async function runCapacity(streams: number, timeScale: number, seconds: number): Promise<CapResult> {
  const sim = await startSim(['--time-scale', String(timeScale), '--seed', '3']);
  const clients = sim.urls.map((u) => new LoadClient(u, streams + 16));
  try {
    const perBackend = Math.ceil((seconds * streams * 1.5) / Math.max(timeScale, 0.05)) + streams;
    const workloads = clients.map((_, i) => noPrefix({ requests: perBackend, meanIn: 200, meanOut: 180 }, 1000 + i)); // built before the clock starts
    const cpu0 = cpuMicros(sim.proc.pid);
    const t0 = performance.now();
    // mean number of running requests while the load is on (sampled every 500 ms after the first second)
    const probes: number[] = [];
    const probe = (async () => {
      await sleep(1000);
      while (performance.now() - t0 < seconds * 1000) {
        probes.push((await Promise.all(sim.urls.map(simState))).reduce((a, s) => a + s.queue.running, 0));
        await sleep(500);
      }
    })();
    const runs = clients.map((c, i) =>
      drive(c, workloads[i]!, { kind: 'closed', concurrency: streams }, { count: perBackend, maxMs: seconds * 1000, hardMs: seconds * 1000 + 60_000 }),
    );
    const samples = (await Promise.all(runs)).flat();
    await probe;
    const running = Math.round(probes.reduce((a, b) => a + b, 0) / Math.max(1, probes.length));
    const realS = (performance.now() - t0) / 1000;
    const cpu = (cpuMicros(sim.proc.pid) - cpu0) / 1e6 / realS;
    const ok = samples.filter((s) => !s.error && s.outputTokens > 1);
    const states = await Promise.all(sim.urls.map(simState));
    const engineItl = (await histMean(sim.urls, 'vllm:inter_token_latency_seconds')) * 1000;
    // client ITL: (last token − first token) / (tokens − 1), real → model ms, token-weighted
    let gap = 0;
    let n = 0;
    for (const s of ok) {
      gap += s.e2e - s.ttft;
      n += s.outputTokens - 1;
    }
    const clientItl = gap / n / timeScale;
    const out = samples.reduce((a, s) => a + s.outputTokens, 0);
    return {
      timeScale,
      streams: INSTANCES * streams,
      requests: samples.length,
      errors: samples.filter((s) => s.error).length,
      tokPerRealS: out / realS,
      clientItlMs: clientItl,
      engineItlMs: engineItl,
      itlRatio: clientItl / engineItl,
      lagP50Ms: states[0]!.clock.p50,
      lagP99Ms: states[0]!.clock.p99,
      lagMaxMs: states[0]!.clock.max,
      simCpu: cpu,
      running,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stop(sim.proc);
  }
}

// --- abort latency ---------------------------------------------------------------------------

/** Real ms from a client dropping a stream to the simulator counting the abort (in-process fleet). */
async function abortLatency(n: number): Promise<number[]> {
  const fleet = await startSimFleet({ port: 0, timeScale: 1 });
  const inst = fleet.instances[0]!;
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const ac = new AbortController();
      const res = await fetch(`${inst.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: `story ${i}` }], max_tokens: 10_000, ignore_eos: true, stream: true }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      const before = inst.state().counters.client_disconnects;
      const t0 = performance.now();
      ac.abort();
      while (inst.state().counters.client_disconnects === before) await new Promise((r) => setImmediate(r));
      out.push(performance.now() - t0);
    }
  } finally {
    await fleet.close();
  }
  return out;
}

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const only = opts.only;
  if (only === undefined || only === 'w1') {
    const reqs = w1Requests();
    const policies: Policy[] = ['round-robin', 'oracle', 'random'];
    const p8 = getProfile('llama3-8b-h100');
    console.log(`W1: 64 groups × 16 prompts (2,048 + 128 in, 256 out, ignore_eos), all at once, ${INSTANCES} backends (llama3-8b-h100)`);
    console.log('Published (SGLang v0.4, 8×A100, Llama-3.1-8B): cache-aware vs round-robin 75% vs 20% hit rate (3.75×), 1.92× throughput; ideal hit rates 88% vs 47% (1.87×).');
    console.log('\n(a) engines on a virtual clock (exact model time)\n');
    const virt = policies.map((p) => runW1Virtual(p, p8, reqs));
    console.log(w1Table(virt, false));
    console.log(`\n${verdict(virt)}`);
    console.log('\nRecalibration sweep (spec: "recalibrate b and T0"), oracle vs round-robin, virtual clock:\n');
    const sweep: string[][] = [];
    for (const [b, t0] of [
      [0.06, 6],
      [0.09, 6],
      [0.12, 6],
      [0.06, 12],
      [0.09, 12],
    ] as const) {
      const prof = { ...p8, bMs: b, t0Ms: t0 };
      const rr = runW1Virtual('round-robin', prof, reqs);
      const or = runW1Virtual('oracle', prof, reqs);
      sweep.push([
        fmt(b, 2),
        fmt(t0, 0),
        `${fmt(rr.hitRate * 100, 1)}%`,
        `${fmt(or.hitRate * 100, 1)}%`,
        `${fmt(or.hitRate / rr.hitRate, 2)}×`,
        fmt(rr.outTokS),
        fmt(or.outTokS),
        `${fmt(or.outTokS / rr.outTokS, 2)}×`,
      ]);
    }
    console.log(formatTable(['b ms/token', 'T0 ms', 'RR hit', 'oracle hit', 'hit ×', 'RR out tok/s', 'oracle out tok/s', 'throughput ×'], sweep));

    const scale = Number(opts['w1-scale']);
    console.log(`\n(b) end to end over HTTP, one simulator process per policy, time scale ${scale}\n`);
    const http: W1Result[] = [];
    for (const p of policies) http.push(await runW1Http(p, scale, reqs));
    console.log(w1Table(http, true));
    console.log(`\n${verdict(http)}; real time ${http.map((r) => `${r.policy} ${fmt(r.realS, 1)} s`).join(', ')}`);
  }
  if (only === undefined || only === 'capacity') {
    const seconds = Number(opts['capacity-seconds']);
    console.log(
      `\nCapacity: one simulator process, ${INSTANCES} backends, closed-loop streams (ShareGPT-like lengths), ${seconds} s real each; ` +
        `this machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the start`,
    );
    const rows: CapResult[] = [];
    for (const spec of opts.capacity!.split(',')) {
      const [streams, scale] = spec.split('@').map(Number) as [number, number];
      rows.push(await runCapacity(streams, scale, seconds));
      console.log(`  ${INSTANCES}×${streams} streams at time scale ${scale}: done (load average ${loadavg()[0]!.toFixed(1)})`);
    }
    console.log(
      '\n' +
        formatTable(
          ['time scale', 'streams', 'running (mean)', 'requests', 'errors', 'tokens/s (real)', 'client ITL ms (model)', 'engine ITL ms', 'ratio', 'tick lag p50/p99/max ms (real)', 'sim CPU (cores)', 'clock true'],
          rows.map((r) => [
            String(r.timeScale),
            String(r.streams),
            String(r.running),
            String(r.requests),
            String(r.errors),
            fmt(r.tokPerRealS),
            fmt(r.clientItlMs, 2),
            fmt(r.engineItlMs, 2),
            fmt(r.itlRatio, 3),
            `${fmt(r.lagP50Ms, 2)} / ${fmt(r.lagP99Ms, 2)} / ${fmt(r.lagMaxMs, 1)}`,
            fmt(r.simCpu, 2),
            Math.abs(r.itlRatio - 1) <= 0.05 && r.errors === 0 ? 'yes' : 'no',
          ]),
        ),
    );
  }
  if (only === undefined || only === 'abort') {
    const lat = await abortLatency(50);
    console.log(
      `\nAbort latency (client drops a stream → /sim/state counts it), 50 streams: ` +
        `p50 ${fmt(percentile(lat, 50), 2)} ms, p99 ${fmt(percentile(lat, 99), 2)} ms, max ${fmt(Math.max(...lat), 2)} ms (real)`,
    );
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    rmSync(logDir, { recursive: true, force: true });
  });
