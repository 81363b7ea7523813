// `switchyard demo`: a simulated GPU fleet (switchyard-sim, one child process serving every
// static backend that the config names on 127.0.0.1) with the proxy in front, and a curl
// line that works as pasted.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { loadConfigFile, formatProblem } from '../config/load';
import { Switchyard } from '../daemon';

export async function runDemo(configPath: string): Promise<void> {
  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const ports = new Set<number>();
  const models = new Set<string>();
  for (const pool of Object.values(loaded.config.pools)) {
    for (const b of pool.backends ?? []) {
      const u = new URL(typeof b === 'string' ? b : b.url);
      if (u.hostname === '127.0.0.1' || u.hostname === 'localhost') ports.add(Number(u.port));
    }
  }
  for (const r of loaded.config.routes) {
    const m = r.rewrite_model ?? r.match.model;
    for (const name of m === undefined ? [] : Array.isArray(m) ? m : [m]) models.add(name);
  }
  const sorted = [...ports].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('the config names no static backend on 127.0.0.1 to simulate');
  const first = sorted[0]!;
  const count = sorted[sorted.length - 1]! - first + 1;
  const sim = spawn(
    process.execPath,
    [join(__dirname, '..', '..', 'bin', 'switchyard-sim.js'), '--port', String(first), '--instances', String(count), '--models', [...models].join(',') || 'llama-3-8b'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const stopSim = () => killChild(sim);
  process.once('exit', stopSim);
  await waitHealthy(sorted, sim);

  const sy = await Switchyard.start({ configPath, handleSignals: true });
  const addr = sy.address()!;
  const host = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
  const model = [...models][0] ?? 'llama-3-8b';
  const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Hello! What is a switchyard?' }] });
  process.stderr.write(
    `\nSwitchyard is proxying to ${sorted.length} simulated GPU backends (ports ${sorted.join(', ')}).\n` +
      `Try it:\n\n  curl -N http://${host}:${addr.port}/v1/chat/completions -H 'content-type: application/json' -d '${body}'\n\n` +
      `Admin: curl http://127.0.0.1:${sy.adminAddress()?.port ?? 9901}/status   (Ctrl-C stops both)\n\n`,
  );
}

async function waitHealthy(ports: number[], sim: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const port of ports) {
    for (;;) {
      if (sim.exitCode !== null) throw new Error(`the simulator exited with code ${sim.exitCode}`);
      const ok = await request(`http://127.0.0.1:${port}/health`, { headersTimeout: 1000 })
        .then(async (r) => (await r.body.dump(), r.statusCode === 200))
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`simulated backend on port ${port} did not become healthy`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.pid) child.kill('SIGTERM');
}
