// `switchyard check FILE` as an operator runs it: the built binary in a child process,
// judged by its exit status and its standard output.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', '..', 'bin', 'switchyard.js');
const EXAMPLE = join(__dirname, '..', '..', '..', '..', 'config.example.yaml');

const dir = mkdtempSync(join(tmpdir(), 'switchyard-check-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function switchyard(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw run.error;
  return run;
}

t.test('the shipped example: exit 0, one ok line', async (t) => {
  const run = switchyard('check', EXAMPLE);
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, new RegExp(`^${EXAMPLE}: ok \\(hash [0-9a-f]{12}\\)\\n$`));
});

t.test('an invalid file: exit 1, FILE:LINE:COL: message lines on stdout', async (t) => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'pools:\n  blue:\n    backends: [http://127.0.0.1:8001]\n    strategy: fastest\nroutes:\n  - name: chat\n    split: { blue: 90, green: 10 }\n');
  const run = switchyard('check', bad);
  t.equal(run.status, 1);
  t.same(run.stdout.trimEnd().split('\n'), [
    `${bad}:4:15: pools.blue.strategy: expected one of round-robin, random, least-request, least-queue, kv-aware, gpu-aware, session-affinity, prefix-affinity; got "fastest"`,
    `${bad}:7:24: routes.0.split.green: unknown pool "green"`,
  ]);
});

t.test('no file named: a usage error, not success', async (t) => {
  const run = switchyard('check');
  t.not(run.status, 0);
  t.match(run.stderr, /missing required argument/);
});
