// npm run bench:routing — does Switchyard's scheduling pay off on inference workloads?
// Eight simulated backends (switchyard-sim, one child process), Switchyard in front (a child
// process per measured run), and this process as the load generator. For each scenario and
// strategy: output tokens/s, TTFT p50/p90/p99, the fleet's prefix-cache hit rate and the
// load imbalance, side by side; then the issue's targets.
//   node dist/benchmarks/routing/run.js [--quick] [--workload w1,chat,noprefix,slow]
//        [--strategies round-robin,prefix-affinity,…] [--time-scale 2] [--scrape-ms 50]
//        [--stale-ms 2000] [--dump DIR]
// --quick runs only the strategies the targets name (round-robin, least-queue,
// session-affinity, prefix-affinity); --dump writes every request's timings to
// DIR/<scenario>-<strategy>.json; SWITCHYARD_BIN runs another build of the daemon.
// All times are model time (the simulator's clock): client-side real ms ÷ time scale.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { forkScript, stopAll } from '../common/children';
import { expect } from '../common/ipc';
import { fmt } from '../common/table';
import type { FleetBackend } from './fleet';
import { measure, type Figures, type RunSpec } from './measure';
import { chatCapacity } from './calibrate';
import { scenarioTable, targetTable, type Results } from './report';
import { CHAT, CHAT_SEED, SCENARIOS, type Context, type Scenario } from './scenarios';
import { PRESET_NAMES, variant } from './strategies';
import type { DaemonKnobs } from './switchyard';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workload: { type: 'string' },
    strategies: { type: 'string' },
    'time-scale': { type: 'string', default: '2' },
    'scrape-ms': { type: 'string', default: '50' },
    'stale-ms': { type: 'string', default: '2000' },
    connections: { type: 'string', default: '1024' },
    dump: { type: 'string' },
  },
});

const ctx: Context = { timeScale: Number(opts['time-scale']) };
/** --quick: only the strategies the targets name. */
const QUICK = ['round-robin', 'least-queue', 'session-affinity', 'prefix-affinity'];
const wanted = opts.workload?.split(',') ?? SCENARIOS.map((s) => s.name);
const scenarios = wanted.map((n) => SCENARIOS.find((s) => s.name === n) ?? fail(`unknown workload ${n}; known: ${SCENARIOS.map((s) => s.name)}`));
const named = opts.strategies?.split(',').map((n) => n.trim());
named?.forEach(variant); // fail early on a typo
let dir = '';
let salt = 0; // one per run: no run finds another's prompts in the caches

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function knobs(strategy: string): DaemonKnobs {
  const v = variant(strategy);
  return { strategy: v.strategy, scheduler: v.scheduler, timeScale: ctx.timeScale, scrapeModelMs: Number(opts['scrape-ms']), staleModelMs: Number(opts['stale-ms']) };
}

async function run(backends: FleetBackend[], scenario: string, strategy: string, spec: RunSpec): Promise<Figures> {
  const started = Date.now();
  const dump = opts.dump && join(opts.dump, `${scenario}-${strategy.replace(/[^\w.-]/g, '_')}.json`);
  const f = await measure(backends, knobs(strategy), spec, dir, Number(opts.connections), dump);
  console.error(`  ${strategy}: ${fmt(f.tokPerSec)} tok/s, TTFT p90 ${fmt(f.ttftP90)} ms, hits ${fmt(f.hitRate * 100, 1)}% (${fmt((Date.now() - started) / 1000, 1)} s)`);
  if (f.firstError) console.error(`    ${f.failed} failed, first: ${f.firstError}`);
  return f;
}

async function setSlowdown(backends: FleetBackend[], slow: Record<number, number>, reset: boolean): Promise<void> {
  for (const [i, factor] of Object.entries(slow)) {
    const res = await request(`${backends[Number(i)]!.url}/admin/config`, { method: 'POST', body: JSON.stringify({ slowdown: reset ? 1 : factor }) });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`slowdown on ${backends[Number(i)]!.id}: HTTP ${res.statusCode}`);
  }
}

async function runScenario(backends: FleetBackend[], scenario: Scenario): Promise<Record<string, Figures>> {
  if (scenario.needsCapacity && ctx.chatCapacity === undefined) {
    ctx.chatCapacity = await chatCapacity(CHAT, CHAT_SEED, backends.length);
    console.log(`Chat capacity: ${fmt(ctx.chatCapacity, 1)} requests per model second (round-robin, virtual-clock calibration); the chat runs offer 80%: ${fmt(0.8 * ctx.chatCapacity, 1)}/s.\n`);
  }
  console.error(`${scenario.name}:`);
  const listed = scenario.strategies ?? PRESET_NAMES;
  const strategies = named ?? (opts.quick ? listed.filter((s) => QUICK.includes(s)) : listed);
  const out: Record<string, Figures> = {};
  if (scenario.slow) await setSlowdown(backends, scenario.slow, false);
  try {
    for (const s of strategies) out[s] = await run(backends, scenario.name, s, scenario.plan(ctx, salt++));
    const again = scenario.again;
    if (again && out[again]) out[`${again} again`] = await run(backends, scenario.name, again, scenario.plan(ctx, salt++));
  } finally {
    if (scenario.slow) await setSlowdown(backends, scenario.slow, true);
  }
  return out;
}

async function main(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-routing-'));
  if (opts.dump) mkdirSync(opts.dump, { recursive: true });
  const results: Results = {};
  const began = Date.now();
  try {
    const fleet = forkScript('fleet', join(__dirname, 'fleet.js'), [JSON.stringify({ instances: 8, timeScale: ctx.timeScale, seed: 1 })]);
    const backends = await expect<FleetBackend[]>(fleet.child, 'ready', 30_000);
    const slowId = backends[0]!.id;
    console.log(`routing benchmark: 8 × switchyard-sim (llama3-8b-h100), time scale ${ctx.timeScale} (real ms per model ms), scrape every ${opts['scrape-ms']} model ms${opts.quick ? ', --quick' : ''}`);
    console.log(`System: Linux ${release()}, ${cpus()[0]!.model} × ${cpus().length}, Node ${process.version}`);
    console.log('Times are model ms (client-side real ms ÷ time scale); cache hits from the simulators\' counters; lag p99 = the simulators\' timer lag, real ms.\n');
    for (const scenario of scenarios) {
      results[scenario.name] = await runScenario(backends, scenario);
      const slow = scenario.slow ? slowId : undefined;
      console.log(`${scenario.name}: ${scenario.title}${slow ? ` (slowed: ${slow})` : ''}\n${scenarioTable(results[scenario.name]!, slow)}\n`);
    }
    console.log(`Targets\n${targetTable(results, slowId)}\n`);
    console.log(`Total ${fmt((Date.now() - began) / 1000)} s.`);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));
