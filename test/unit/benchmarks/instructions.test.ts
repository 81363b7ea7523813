// bench:instructions' pieces: setups started under a launcher (as they are under
// valgrind), and the reading of callgrind's per-thread dumps. Real processes: the bench's
// backend and the setups; /usr/bin/env stands in for valgrind (it runs what follows it).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { countTable, dumpTotals, summarize } from '../../../benchmarks/proxy/instructions';
import { bare } from '../../../benchmarks/proxy/setups/bare';
import { switchyard } from '../../../benchmarks/proxy/setups/switchyard';
import { CHAT_BODY, CHAT_PATH, COMPLETION, JSON_HEADERS } from '../../../benchmarks/proxy/workload';
import { startBenchBackend, type BenchBackend } from '../../support/bench-backend';

let backend: BenchBackend;

t.before(async () => {
  backend = await startBenchBackend(t, 'switchyard-instructions-test-');
});

const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

for (const setup of [bare, switchyard]) {
  t.test(`${setup.name} starts under a launcher and proxies`, async (t) => {
    const marker = `LAUNCHED_BY=instructions-test-${setup.name.replace(/\W+/g, '-')}`;
    const running = await setup.start({ backend: backend.origin, backendPid: backend.pid, dir: backend.dir, launcher: ['/usr/bin/env', marker] });
    try {
      t.ok(environOf(running.pid).includes(marker), 'the process was started through the launcher');
      const res = await request(running.origin + CHAT_PATH, { method: 'POST', headers: JSON_HEADERS, body: CHAT_BODY });
      t.equal(res.statusCode, 200);
      t.equal(await res.body.text(), COMPLETION.toString());
    } finally {
      await running.stop();
    }
  });
}

t.test('dumpTotals reads each thread of one dump, and only that dump', async (t) => {
  const dumps = mkdtempSync(join(tmpdir(), 'switchyard-dumps-test-'));
  t.teardown(() => rmSync(dumps, { recursive: true, force: true }));
  const dump = (file: string, summary: number | undefined) =>
    writeFileSync(join(dumps, file), `# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 42\nevents: Ir\n${summary === undefined ? '' : `summary: ${summary}\n`}fn=(1) main\n0 1\n`);
  dump('bare-node.42.out.1-01', 700);
  dump('bare-node.42.out.1-02', 30);
  dump('bare-node.42.out.1-10', 5);
  dump('bare-node.42.out.2-01', 9); // the next dump
  dump('bare-node.43.out.1-01', 8); // another process
  dump('switchyard.42.out.1-01', 7); // another setup
  dump('bare-node.42.out.1-03', undefined); // a thread with nothing collected
  t.same(
    [...dumpTotals(dumps, 'bare-node', 42, 1)].sort((a, b) => a[0] - b[0]),
    [
      [1, 700],
      [2, 30],
      [3, 0],
      [10, 5],
    ],
  );
  t.same([...dumpTotals(dumps, 'bare-node', 42, 2)], [[1, 9]]);
  t.same([...dumpTotals(dumps, 'bare-node', 42, 3)], [], 'no such dump');
});

t.test('the table gives each setup as a ratio to the floor', async (t) => {
  const table = countTable([
    { setup: 'Switchyard', requests: 10, main: 180_000, median: 181_000, windows: 4, idle: 500, others: 20_000 },
    { setup: 'bare Node', requests: 10, main: 160_000, median: 170_000, windows: 4, idle: 0, others: 15_000 },
  ]);
  t.match(table, /Switchyard\s*\|\s*180\.0\s*\|\s*1\.125×\s*\|\s*181\.0\s*\|\s*0\.5\s*\|\s*20\.0/);
  t.match(table, /bare Node\s*\|\s*160\.0\s*\|\s*1\.000×\s*\|\s*170\.0/);
});

t.test("a setup's figure is its least window; the median of all is kept beside it", async (t) => {
  const windows = [
    { main: 190_000, idle: 1_000, others: 40_000 }, // a recompilation fell in this one
    { main: 178_000, idle: 1_200, others: 3_000 },
    { main: 181_000, idle: 900, others: 2_000 },
  ];
  t.same(summarize('Switchyard', 5000, windows), { setup: 'Switchyard', requests: 5000, main: 178_000, idle: 1_200, others: 3_000, median: 181_000, windows: 3 });
});
