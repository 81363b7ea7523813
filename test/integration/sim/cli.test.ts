// The switchyard-sim command as a real child process.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', '..', 'bin', 'switchyard-sim.js');

/** Start the simulator and resolve with the ports it prints. */
function startSim(args: string[]): Promise<{ ports: number[]; ids: string[]; stop(): Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready: \d+ backend\(s\) on ports ([\d,]+), time scale/.exec(out);
      if (!m) return;
      const ids = [...out.matchAll(/^(sim-\d+) listening on/gm)].map((x) => x[1]!);
      resolve({
        ports: m[1]!.split(',').map(Number),
        ids,
        stop: () =>
          new Promise((res) => {
            child.removeAllListeners('exit');
            child.on('exit', (code) => res(code));
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

t.test('--help lists every flag of the spec with its default', async (t) => {
  const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  const help = r.stdout.replace(/\s+/g, ' ');
  for (const flag of [
    '--port <n>',
    '--instances <n>',
    '--profile <name>',
    '--models <list>',
    '--max-loaded-models <n>',
    '--kv-capacity-tokens <n>',
    '--block-size <n>',
    '--max-num-seqs <n>',
    '--max-num-batched-tokens <n>',
    '--time-scale <x>',
    '--seed <n>',
    '--mode <mode>',
    '--metrics-flavor <f>',
    '--startup-duration <ms>',
    '--failure-rate <pct>',
    '--failure-types <list>',
    '--stall-first-token-ms <ms>',
    '--abort-after-tokens <n>',
    '--slowdown <x>',
    '--health-flap-rate <p>',
    '--drain',
    '--metrics-freeze',
    '--fake-metrics <json>',
    '--refuse-connections',
    '--latency-jitter-pct <pct>',
    '--consul <url>',
    '--service <name>',
    '--meta <k=v>',
  ]) {
    t.ok(help.includes(flag), flag);
  }
  t.match(help, /--block-size <n> KV block size in tokens \(default: 16\)/);
  t.match(help, /--profile <name> .*default: "llama3-8b-h100"/);
  t.match(help, /--max-num-batched-tokens <n> token budget per engine step \(default: 8192\)/);
  t.match(help, /--time-scale <x> .*\(default: 1\)/);
});

t.test('--port 0 --instances 3: free ports, printed; SIGTERM exits 0', async (t) => {
  const sim = await startSim(['--port', '0', '--instances', '3', '--time-scale', '0.01']);
  t.equal(sim.ports.length, 3);
  t.equal(new Set(sim.ports).size, 3);
  for (const [i, port] of sim.ports.entries()) {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    t.equal(res.status, 200);
    t.equal(res.headers.get('x-sim-backend'), `sim-${port}`);
    t.equal(sim.ids[i], `sim-${port}`);
  }
  t.equal(await sim.stop(), 0);
});

t.test('--port P --instances 2: consecutive ports; flags reach the engine', async (t) => {
  let sim: Awaited<ReturnType<typeof startSim>> | undefined;
  for (let attempt = 0; attempt < 5 && !sim; attempt++) {
    const p = await freePort();
    sim = await startSim([
      '--port', String(p), '--instances', '2', '--profile', 'qwen3-32b-2xh100', '--models', 'qwen3-32b,qwen3-8b:16',
      '--max-num-seqs', '7', '--kv-capacity-tokens', '32000', '--slowdown', '2', '--drain',
    ]).catch(() => undefined); // the port after p may be taken: try another
  }
  t.ok(sim, 'started');
  t.equal(sim!.ports[1], sim!.ports[0]! + 1);
  const state = (await (await fetch(`http://127.0.0.1:${sim!.ports[1]}/sim/state`)).json()) as {
    profile: string;
    models: { name: string; state: string; weights_gb: number }[];
    kv: { capacity_tokens: number };
    knobs: { max_num_seqs: number; slowdown: number; drain: boolean };
  };
  t.equal(state.profile, 'qwen3-32b-2xh100');
  t.same(
    state.models.map((m) => [m.name, m.state, m.weights_gb]),
    [
      ['qwen3-32b', 'loaded', 64],
      ['qwen3-8b', 'unloaded', 16],
    ],
  );
  t.equal(state.kv.capacity_tokens, 32000);
  t.equal(state.knobs.max_num_seqs, 7);
  t.equal(state.knobs.slowdown, 2);
  t.equal((await fetch(`http://127.0.0.1:${sim!.ports[0]}/health`)).status, 503, '--drain');
  t.equal(await sim!.stop(), 0);
});

t.test('a bad flag value is an error, not a default', async (t) => {
  const r = spawnSync(process.execPath, [BIN, '--block-size', 'x'], { encoding: 'utf8' });
  t.not(r.status, 0);
  t.match(r.stderr, /--block-size must be a non-negative integer/);
  const r2 = spawnSync(process.execPath, [BIN, '--failure-types', 'teapot', '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
  t.equal(r2.status, 1);
  t.match(r2.stderr, /unknown type "teapot"/);
});
