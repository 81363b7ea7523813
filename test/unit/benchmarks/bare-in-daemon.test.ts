// bench:proxy's opt-in setup "bare Node (in Switchyard's process)": the floor's code and a
// whole Switchyard daemon in one process (real processes: the bench's backend, the setup).
// Both proxy: the floor on the port the setup reports, the daemon on its config's port;
// the daemon's log says it started in the setup's pid; stop() ends the process.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { bareInDaemon } from '../../../benchmarks/proxy/setups/bare';
import { CHAT_BODY, CHAT_PATH, COMPLETION, JSON_HEADERS } from '../../../benchmarks/proxy/workload';
import { startBenchBackend, type BenchBackend } from '../../support/bench-backend';

let backend: BenchBackend;

t.before(async () => {
  backend = await startBenchBackend(t, 'switchyard-bench-test-');
});

async function chat(origin: string): Promise<{ status: number; body: string }> {
  const res = await request(origin + CHAT_PATH, { method: 'POST', headers: JSON_HEADERS, body: CHAT_BODY });
  return { status: res.statusCode, body: await res.body.text() };
}

t.test('the floor proxies on its port while a whole daemon runs in the same process', async (t) => {
  const running = await bareInDaemon.start({ backend: backend.origin, backendPid: backend.pid, dir: backend.dir });
  let exited = false;
  process.kill(running.pid, 0); // alive
  try {
    t.same(await chat(running.origin), { status: 200, body: COMPLETION.toString() }, 'through the floor');

    const config = readFileSync(join(backend.dir, 'bare-in-daemon.yaml'), 'utf8');
    const port = Number(/listen: \{ host: 127\.0\.0\.1, port: (\d+) \}/.exec(config)?.[1]);
    t.not(`http://127.0.0.1:${port}`, running.origin, 'the daemon listens on a port of its own');
    const viaDaemon = await chat(`http://127.0.0.1:${port}`);
    t.equal(viaDaemon.status, 200, 'through the daemon');
    t.equal(viaDaemon.body, COMPLETION.toString());

    const log = readFileSync(running.logFile!, 'utf8');
    const started = log.split('\n').find((l) => l.includes('"msg":"switchyard started"'));
    t.ok(started, 'the daemon logged its start');
    t.equal(JSON.parse(started!).pid, running.pid, 'in the setup process');
  } finally {
    await running.stop();
    try {
      process.kill(running.pid, 0);
    } catch {
      exited = true;
    }
  }
  t.ok(exited, 'stop() ended the process');
});
