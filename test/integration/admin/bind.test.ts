// The daemon refuses to start when the admin API would listen on a non-loopback address
// without SWITCHYARD_ADMIN_TOKEN: exit code 1 and a message that says why, before anything
// listens. The same file with the admin API on 127.0.0.1 starts (the control).
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from '../../support/paths';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `switchyard start` on `config` until it exits, or stops it once `until` shows in stdout / 15 s pass. */
function runStart(t: Test, config: object, env: Record<string, string | undefined>, until?: RegExp): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bind-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(config));
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'bin', 'switchyard.js'), 'start', '--config', file], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString();
    if (until?.test(stdout)) child.kill('SIGTERM');
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, 15_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    }),
  );
}

const base = (adminHost: string) => ({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { host: adminHost, port: 0 },
  pools: { p: { backends: ['http://127.0.0.1:9'], strategy: 'round-robin', health: { enabled: false } } },
  routes: [{ name: 'r', pool: 'p' }],
});

for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
  t.test(`admin.host ${host} without a token: exit 1 with a message`, async (t) => {
    const run = await runStart(t, base(host), { SWITCHYARD_ADMIN_TOKEN: undefined });
    t.equal(run.timedOut, false, 'the process exits on its own');
    t.equal(run.code, 1, 'exit code 1');
    t.match(run.stderr, `refusing to bind the admin API to non-loopback address ${host} without SWITCHYARD_ADMIN_TOKEN`, `stderr says why: ${run.stderr.trim()}`);
    t.notMatch(run.stdout, /switchyard started/, 'it never started');
  });
}

t.test('an empty SWITCHYARD_ADMIN_TOKEN counts as none', async (t) => {
  const run = await runStart(t, base('0.0.0.0'), { SWITCHYARD_ADMIN_TOKEN: '' });
  t.equal(run.code, 1, 'exit code 1');
  t.match(run.stderr, /without SWITCHYARD_ADMIN_TOKEN/, 'with the message');
});

t.test('control: the same config with the admin API on 127.0.0.1 starts without a token', async (t) => {
  const run = await runStart(t, base('127.0.0.1'), { SWITCHYARD_ADMIN_TOKEN: undefined }, /"msg":"switchyard started"/);
  t.equal(run.timedOut, false, 'it started (and was stopped)');
  t.match(run.stdout, /"msg":"switchyard started"/, 'it started');
  t.equal(run.code, 0, 'and exited 0 on SIGTERM');
  t.equal(run.stderr, '', 'no complaint');
});
