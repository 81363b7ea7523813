// deploy/switchyard.service: its required settings are checked by parsing it, always; where
// systemd-analyze is installed, systemd itself also verifies the unit and rates its hardening.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../../lib/config/load';
import { parseDuration } from '../../../lib/config/units';

const UNIT_FILE = join(__dirname, '..', '..', '..', '..', 'deploy', 'switchyard.service');
const unitText = readFileSync(UNIT_FILE, 'utf8');

/** section → key → values, in file order (a key may repeat, as SystemCallFilter does). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 1) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const unit = parseUnit(unitText);
const service = unit.get('Service') ?? new Map<string, string[]>();
const one = (key: string) => service.get(key)?.at(-1);

t.test('the unit has its sections', async (t) => {
  t.same([...unit.keys()], ['Unit', 'Service', 'Install']);
  t.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
  t.equal(unit.get('Unit')?.get('After')?.[0], 'network-online.target');
});

t.test('start, reload and restart', async (t) => {
  t.equal(one('Type'), 'simple');
  t.equal(one('ExecStart'), '/usr/bin/node --min-semi-space-size=16 --max-semi-space-size=16 /usr/bin/switchyard start --config /etc/switchyard/config.yaml');
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  t.equal(one('Restart'), 'on-failure');
  t.equal(one('LimitNOFILE'), '65536');
});

t.test("ExecStart's Node flags: a fixed young generation, applied by V8", async (t) => {
  const words = one('ExecStart')!.split(/\s+/);
  const flags = words.slice(1, words.indexOf('/usr/bin/switchyard'));
  t.same(flags, ['--min-semi-space-size=16', '--max-semi-space-size=16'], 'benchmarks/README.md: RSS per idle connection, CPU per request');
  t.notOk(service.get('Environment')?.some((e) => e.startsWith('NODE_OPTIONS=')), 'not in NODE_OPTIONS: Node refuses --min-semi-space-size there');
  // Node must start with them, and V8 apply them: the new space (V8 reports the semi-spaces
  // it has committed) starts with a full 16 MiB semi-space where Node's default starts
  // with 1 MiB, and a churn that survives scavenges takes both to the same 2 × 16 MiB.
  const probe = `const size = () => require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const atStart = size(); let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep = []; }
    console.log(atStart, size())`;
  const sizes = (args: string[]) => {
    const run = spawnSync(process.execPath, [...args, '-e', probe], { encoding: 'utf8' });
    t.equal(run.status, 0, run.stderr);
    return run.stdout.trim().split(' ').map((n) => Number(n) / (1024 * 1024));
  };
  const [fixedStart, fixedEnd] = sizes(flags);
  const [defaultStart, defaultEnd] = sizes([]);
  t.equal(fixedStart, 16, 'with the unit\'s flags: a full 16 MiB semi-space at start');
  t.equal(fixedEnd, 32, 'and 2 × 16 MiB under churn');
  t.ok(defaultStart! < fixedStart!, `Node's default starts smaller (${defaultStart} MiB)`);
  t.equal(defaultEnd, fixedEnd, 'and grows to the same size under churn: the flags change when, not how much');
});

t.test('a graceful stop outlasts the default drain deadline', async (t) => {
  t.equal(one('KillSignal'), 'SIGTERM');
  t.equal(one('KillMode'), 'mixed', 'SIGTERM to the daemon only; SIGKILL to all only at the timeout');
  const loaded = parseConfigText('pools:\n  a:\n    backends: [http://127.0.0.1:8001]\n');
  if (!loaded.ok) throw new Error('minimal config should load');
  const stopMs = parseDuration(one('TimeoutStopSec') ?? '');
  t.ok(stopMs !== undefined && stopMs > loaded.config.shutdown.drain_timeout, `TimeoutStopSec ${one('TimeoutStopSec')} > drain_timeout ${loaded.config.shutdown.drain_timeout}ms`);
});

t.test('hardening', async (t) => {
  t.ok(one('DynamicUser') === 'yes' || (one('User') ?? 'root') !== 'root', 'runs as its own user');
  t.equal(one('User'), 'switchyard');
  for (const key of [
    'NoNewPrivileges',
    'PrivateTmp',
    'PrivateDevices',
    'ProtectHome',
    'ProtectKernelTunables',
    'ProtectKernelModules',
    'ProtectKernelLogs',
    'ProtectControlGroups',
    'RestrictNamespaces',
    'RestrictSUIDSGID',
    'LockPersonality',
  ]) {
    t.equal(one(key), 'yes', key);
  }
  t.equal(one('ProtectSystem'), 'strict');
  t.equal(one('RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX');
  t.equal(one('CapabilityBoundingSet'), '', 'no capabilities: the default port needs none');
  t.equal(one('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  t.ok(service.get('SystemCallFilter')?.includes('@system-service'));
});

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
if (analyze.error) {
  // Nothing to assert without it: the tests above checked the unit by parsing it.
  t.comment(`systemd-analyze is not available (${analyze.error.message}): the unit was checked by parsing only`);
} else {
  t.test('systemd-analyze verify finds nothing to say', async (t) => {
    // verify insists that ExecStart's binary exists: check a copy whose ExecStart names a
    // stand-in executable (for node), the rest of the unit byte for byte.
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-unit-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const stub = join(dir, 'switchyard');
    writeFileSync(stub, '#!/bin/sh\n');
    chmodSync(stub, 0o755);
    const copy = join(dir, 'switchyard.service');
    writeFileSync(copy, unitText.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${stub} `));
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8' });
    t.equal(verify.status, 0, 'exit status');
    // verify exits 0 on unknown keys and bad values, and only prints them: demand silence.
    t.equal(verify.stderr.trim(), '', 'no warnings');
    t.comment(`verified with ${analyze.stdout.split('\n')[0]}`);
  });

  t.test('systemd-analyze security rates the unit well hardened', async (t) => {
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT_FILE], { encoding: 'utf8' });
    const level = /Overall exposure level for switchyard\.service: ([\d.]+)/.exec(security.stdout);
    t.ok(level, 'an exposure level is reported', { stderr: security.stderr });
    t.ok(level && Number(level[1]) <= 2, `exposure ${level?.[1]} ≤ 2 (0 = locked down, 10 = none)`);
  });
}
