// The data-plane benchmark: one backend reached directly and through each proxy, side by
// side in one run, with the scenarios interleaved round by round (the machine is noisy).
//   node dist/benchmarks/proxy/run.js [SCENARIO...] [--seconds 2] [--rounds 4]
//        [--events 64] [--interval 5] [--setups direct,switchyard,bare,haproxy,nginx] [--profile]
// --setups also takes the opt-in variants by a prefix that names no other column:
// "Switchyard (no access log)" ('switchyard ('), what the access log costs; and
// "bare Node (in Switchyard's process)" ('bare node ('), what the running daemon costs any
// code in its process.
// --profile runs Switchyard and the bare proxy under `node --cpu-prof` (small-64 unless a
// scenario is named) and prints where each spends its CPU, and Switchyard's hot spots in lib/.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { forkScript, stopAll } from '../common/children';
import { expect } from '../common/ipc';
import { fmt } from '../common/table';
import { roundOrder } from '../common/order';
import { profileReport } from './profile';
import { goalTable, ratioTable, scenarioTable } from './report';
import { Samples } from './samples';
import { SCENARIOS, type Knobs, type Scenario } from './scenarios';
import { selectSetups, type Running, type Setup, type SetupEnv } from './setups';
import { switchyard } from './setups/switchyard';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '4' },
    events: { type: 'string', default: '64' },
    interval: { type: 'string', default: '5' },
    setups: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});

const knobs: Knobs = { seconds: Number(opts.seconds), events: Number(opts.events), interval: Number(opts.interval) };
const rounds = opts.profile ? 1 : Number(opts.rounds);
const wanted = opts.profile ? ['switchyard', 'bare'] : (opts.setups?.split(',') ?? []);
const setups = selectSetups(wanted);
const names = positionals.length > 0 ? positionals : opts.profile ? ['small-64'] : SCENARIOS.map((s) => s.name);
const scenarios = names.map((n) => SCENARIOS.find((s) => s.name === n) ?? fail(`unknown scenario ${n}; known: ${SCENARIOS.map((s) => s.name)}`));
if (opts.profile && !scenarios[0].metrics.some((m) => m.key === 'cpu')) fail('--profile needs a scenario that measures CPU');
const notes: string[] = [];

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function startSetups(env: SetupEnv): Promise<Map<Setup, Running>> {
  const running = new Map<Setup, Running>();
  for (const setup of setups) {
    const missing = setup.missing();
    if (missing) notes.push(`${setup.name} skipped: ${missing}.`);
    else
      await setup.start(env).then(
        (r) => running.set(setup, r),
        (err: Error) => notes.push(`${setup.name} failed to start: ${err.message}`),
      );
  }
  return running;
}

/** Runs `scenario` on every setup, `rounds` times, in the order of a balanced Latin square (see common/order). */
async function measure(scenario: Scenario, running: Map<Setup, Running>, samples: Samples): Promise<void> {
  const n = scenario.once ? 1 : rounds;
  for (let round = 0; round < n; round++) {
    const list = [...running];
    for (const [setup, r] of roundOrder(list.length, round).map((i) => list[i]!)) {
      try {
        const figures = await scenario.run(r, knobs);
        samples.add(scenario.name, setup.name, round, figures);
        const line = scenario.metrics.map((m) => `${m.label} ${fmt(figures[m.key], m.decimals)}`).join(', ');
        console.error(`  ${scenario.name} ${round + 1}/${n} ${setup.name}: ${line}`);
      } catch (err) {
        notes.push(`${scenario.name} on ${setup.name}: ${(err as Error).message}`);
      }
      await sleep(250); // let closed connections wind down before the next setup
    }
  }
}

/** A second of each repeated scenario on each setup, so that JIT compilation is done. */
async function warmUp(running: Map<Setup, Running>): Promise<void> {
  console.error('warming up');
  for (const r of running.values()) for (const s of SCENARIOS.filter((s) => !s.once)) await s.run(r, { ...knobs, seconds: 1 });
}

/** Other work on the machine skews every figure here; say how much there was before ours. */
function loadNote(): string {
  const [one] = loadavg();
  const busy = one > cpus().length ? ' (busier than its cores: treat the figures as rough)' : '';
  return `load average ${one.toFixed(1)} at the start${busy}`;
}

function logNotes(running: Map<Setup, Running>): void {
  for (const [setup, r] of running) {
    if (r.logFile) notes.push(`${setup.name} wrote ${fmt(statSync(r.logFile).size / 2 ** 20, 1)} MiB of logs.`);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const profileDir = opts.profile ? mkdtempSync(join(tmpdir(), 'switchyard-profile-')) : undefined;
  try {
    const backend = forkScript('backend', join(__dirname, 'backend.js'), [opts.events!, opts.interval!]);
    const port = await expect<number>(backend.child, 'ready', 10_000);
    const running = await startSetups({ backend: `http://127.0.0.1:${port}`, backendPid: backend.pid, dir, profileDir });
    const columns = [...running.keys()].map((s) => s.name);
    console.log(`proxy benchmark: ${columns.join(', ')}; medians of ${rounds} rounds of ${knobs.seconds} s, ratios per round`);
    console.log(`System: Linux ${release()}, ${cpus()[0].model} × ${cpus().length}, Node ${process.version}, ${loadNote()}\n`);

    const samples = new Samples();
    const show = async (scenario: Scenario) => {
      await measure(scenario, running, samples);
      console.log(`${scenario.name}: ${scenario.title}\n\n${scenarioTable(scenario, columns, samples)}\n`);
    };
    for (const scenario of scenarios.filter((s) => s.once)) await show(scenario);
    const repeated = scenarios.filter((s) => !s.once);
    if (repeated.length > 0) await warmUp(running);
    for (const scenario of repeated) await show(scenario);
    const ratios = ratioTable(scenarios, samples);
    if (ratios) console.log(`Ratios\n\n${ratios}\n`);
    if (running.has(switchyard) && ratios) console.log(`${goalTable(samples)}\n`);
    logNotes(running);
    if (profileDir) {
      for (const r of running.values()) await r.stop(); // profiles are written on exit
      console.log(profileReport(profileDir, columns, scenarios[0], samples));
      console.log(`\nProfiles: ${profileDir}`);
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    for (const note of notes) console.log(`Note: ${note}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));
