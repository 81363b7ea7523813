// An invalid config is refused whichever way the reload comes (file watch, SIGHUP, POST
// /reload): the old routes keep serving, /routes and the config hash do not change,
// `switchyard_config_reloads_total{result="failure"}` counts the refusal, and the problems
// name the file, line and column. (The wording of each validation message is covered by
// test/unit/config and the `switchyard check` tests; here it is the daemon's behaviour.)
import t, { type Test } from 'tap';
import { startBackend, type Handler } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { admin, count, isRefused, isReloaded, metricsText, nextLog, sample, unwatchedWriter } from './support';

const named =
  (name: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
    res.end('{}');
  };

/** The config as YAML text, so that line numbers are known. `split` is the route's split line. */
const yamlText = (bluePort: number, greenPort: number, split: string, strategyKey = 'strategy') =>
  [
    'listen: { host: 127.0.0.1, port: 0 }', // 1
    'admin: { host: 127.0.0.1, port: 0 }', // 2
    'log: { level: info, access: false }', // 3
    'pools:', // 4
    '  blue:', // 5
    `    backends: [ "http://127.0.0.1:${bluePort}" ]`, // 6
    `    ${strategyKey}: round-robin`, // 7
    '    health: { enabled: false }', // 8
    '  green:', // 9
    `    backends: [ "http://127.0.0.1:${greenPort}" ]`, // 10
    '    strategy: round-robin', // 11
    '    health: { enabled: false }', // 12
    'routes:', // 13
    '  - name: chat', // 14
    '    match: { path_prefix: /v1/ }', // 15
    `    split: ${split}`, // 16
    '',
  ].join('\n');

t.test('an invalid config is refused and the old one keeps serving', async (t) => {
  const blue = await startBackend(named('blue'));
  const green = await startBackend(named('green'));
  const text = (split: string, strategyKey?: string) => yamlText(blue.port, green.port, split, strategyKey);
  const d = await startDaemon(text('{ blue: 100, green: 0 }'));
  const unwatched = unwatchedWriter(d);
  const dispatcher = agent();
  t.teardown(async () => {
    unwatched.cleanup();
    await closeAgents();
    await d.stop();
    await Promise.all([blue.close(), green.close()]);
  });

  const routesBefore = (await admin(d, '/routes')).json();
  const hashBefore = (await admin(d, '/status')).json().config.hash as string;
  t.match(hashBefore, /^[0-9a-f]{12}$/, 'the running config has a hash');
  t.same(routesBefore.routes[0].split, { blue: 100, green: 0 }, 'all traffic on blue to begin with');

  /** The state that must not change, and the failure counter (0 before the first failure). */
  async function checkUnchanged(t: Test, what: string): Promise<number> {
    t.same((await admin(d, '/routes')).json(), routesBefore, `${what}: /routes unchanged`);
    t.equal((await admin(d, '/status')).json().config.hash, hashBefore, `${what}: config hash unchanged`);
    const served = await Promise.all(Array.from({ length: 20 }, () => call(`${d.url}/v1/chat/completions`, { body: '{}', dispatcher })));
    t.same(
      served.map((r) => [r.status, r.headers['x-served-by']]),
      served.map(() => [200, 'blue']),
      `${what}: requests are still served by the old routes (all on blue)`,
    );
    const m = await metricsText(d);
    t.equal(sample(m, 'switchyard_config_info', { hash: hashBefore }), 1, `${what}: switchyard_config_info still names the old hash`);
    return sample(m, 'switchyard_config_reloads_total', { result: 'failure' }) ?? 0;
  }
  const failuresBefore = await checkUnchanged(t, 'at start');
  t.equal(failuresBefore, 0, 'no failure counted yet');

  t.test('file watch: a negative weight (with a weight flip that must not apply)', async (t) => {
    const refused = nextLog(d, isRefused);
    d.writeConfig(text('{ blue: 0, green: -100 }'));
    const line = await refused;
    const problems = line.problems as string[];
    t.ok(problems.some((p) => p.startsWith(`${d.configPath}:16:`) && /cannot be negative/.test(p)), `the problem names file and line 16: ${problems.join(' | ')}`);
    const failures = await checkUnchanged(t, 'after the refused edit');
    t.ok(failures >= 1, `switchyard_config_reloads_total{result="failure"} is ${failures}`);
    t.equal(failures, count(d, isRefused), 'one failure counted per refused reload');
  });

  t.test('SIGHUP: an unknown key', async (t) => {
    const before = sample(await metricsText(d), 'switchyard_config_reloads_total', { result: 'failure' }) ?? 0;
    unwatched.write(text('{ blue: 0, green: 100 }', 'stratgy'));
    const refused = nextLog(d, isRefused);
    d.proc.kill('SIGHUP');
    const problems = (await refused).problems as string[];
    t.ok(problems.some((p) => p.startsWith(`${d.configPath}:7:`) && /unknown key "stratgy"/.test(p)), `line 7 named: ${problems.join(' | ')}`);
    const after = await checkUnchanged(t, 'after SIGHUP');
    t.equal(after, before + 1, 'the failure counter went up by one');
  });

  t.test('POST /reload: 400 with the problems (unknown pool, YAML syntax)', async (t) => {
    const before = sample(await metricsText(d), 'switchyard_config_reloads_total', { result: 'failure' }) ?? 0;
    unwatched.write(text('{ blue: 0, purple: 100 }'));
    const r = await admin(d, '/reload', { method: 'POST' });
    t.equal(r.status, 400, 'POST /reload answers 400');
    t.equal(r.headers['content-type'], 'application/json', 'as JSON');
    const body = r.json();
    t.equal(body.ok, false, 'ok: false');
    t.match(body.problems, [{ file: d.configPath, line: 16, col: Number, message: /unknown pool "purple"/ }], 'file, line, column and message');
    t.equal(await checkUnchanged(t, 'after POST /reload (unknown pool)'), before + 1, 'counted');

    unwatched.write(text('{ blue: 0, green: 100'));
    const r2 = await admin(d, '/reload', { method: 'POST' });
    t.equal(r2.status, 400, 'a YAML syntax error is refused too');
    const p2 = r2.json().problems as { line: number; message: string }[];
    t.ok(p2.length >= 1 && p2.every((p) => p.line >= 16 && p.message.length > 0), `located at or after line 16: ${JSON.stringify(p2)}`);
    t.equal(await checkUnchanged(t, 'after POST /reload (syntax)'), before + 2, 'counted');

    unwatched.write('');
    const r3 = await admin(d, '/reload', { method: 'POST' });
    t.equal(r3.status, 400, 'an empty file is refused (no pools)');
    t.equal(await checkUnchanged(t, 'after POST /reload (empty)'), before + 3, 'counted');
  });

  t.test('a valid file afterwards is taken, and counted as a success', async (t) => {
    const m0 = await metricsText(d);
    const successBefore = sample(m0, 'switchyard_config_reloads_total', { result: 'success' }) ?? 0;
    const failuresBefore = sample(m0, 'switchyard_config_reloads_total', { result: 'failure' }) ?? 0;
    const reloaded = nextLog(d, isReloaded);
    d.writeConfig(text('{ blue: 0, green: 100 }'));
    await reloaded;
    t.same((await admin(d, '/routes')).json().routes[0].split, { blue: 0, green: 100 }, 'the new weights are in force');
    const r = await call(`${d.url}/v1/chat/completions`, { body: '{}', dispatcher });
    t.equal(r.headers['x-served-by'], 'green', 'and serve');
    const m = await metricsText(d);
    t.ok((sample(m, 'switchyard_config_reloads_total', { result: 'success' }) ?? 0) >= successBefore + 1, 'success counted');
    t.equal(sample(m, 'switchyard_config_reloads_total', { result: 'failure' }), failuresBefore, 'no new failure');
    const hash = (await admin(d, '/status')).json().config.hash;
    t.not(hash, hashBefore, 'a new hash');
    t.equal(sample(m, 'switchyard_config_info', { hash }), 1, 'switchyard_config_info names it');
    t.equal(sample(m, 'switchyard_config_info', { hash: hashBefore }), undefined, 'and no longer the old one');
  });
});
