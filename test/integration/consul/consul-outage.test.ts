// Consul misbehaving under a running daemon: gone for good (connections refused), and an
// index that moves backwards (a snapshot restore). Traffic must not notice either; the watch
// must resync after the restore without turning into a busy loop.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { LoggedRequest } from '../../support/consul/server';
import { backends, consulPool, consulRig, consulSection, daemon, failed, nextLog, register, SERVICE, startConsul, startSims, status, traffic } from './support';

const ROUTES = [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'gpu' }];
const HEALTH = `/v1/health/service/${SERVICE}`;
const watchFailed = (l: { msg: string }) => l.msg === 'consul: watch failed, keeping the last set';

t.test('Consul down for the whole run leaves traffic untouched', async (t) => {
  const consul = await startConsul(t);
  const fleet = await startSims(t, 3);
  fleet.instances.forEach((inst, i) => register(consul, inst, `s${i}`));
  const d = await daemon(t, { consul: consulSection(consul.url), pools: { gpu: consulPool({}) }, routes: ROUTES });
  await consul.waitForBlocked();
  t.equal((await status(d)).pools.gpu.backends.length, 3, 'the daemon has its first set');

  const firstFailure = nextLog(d, watchFailed);
  await consul.stop();
  const f1 = await firstFailure;
  t.match(f1, { err: String, failures: 1 }, 'the parked watch saw Consul go');

  // Traffic across the retry that finds Consul still gone (plan.go backoff: ~5 s after the first failure).
  const tr = traffic(t, d.url, 2, 10);
  const secondFailure = nextLog(d, watchFailed, 10_000);
  await tr.until(() => true, Date.now() + 500, 5000, 'after half a second of traffic');
  const f2 = await secondFailure;
  t.match(f2, { failures: 2 }, 'the retry failed too: Consul was down the whole time');
  await tr.until(() => tr.log.length >= 300, 0, 20_000, 'the 300th');
  await tr.stop();

  t.ok(tr.log.length >= 300, `${tr.log.length} requests while Consul was down`);
  t.same(failed(tr.log), [], 'not one failed');
  t.same(backends(tr.log), fleet.instances.map((i) => i.id).sort(), 'every backend of the last known set kept serving');
  const discovery = (await status(d)).pools.gpu.discovery;
  t.match(discovery, { kind: 'consul', ok: false, lastError: String }, '/status says discovery is failing');
});

t.test('an index that moves backwards causes a full resync, then blocking resumes (no busy loop)', async (t) => {
  const { consul, c, d } = await consulRig(t, 2);
  await consul.waitForBlocked();
  const tr = traffic(t, d.url, 2, 10);

  const parkedAt = Number(consul.requests.filter((r) => r.path === HEALTH).at(-1)!.query.get('index'));
  t.ok(parkedAt > 1, `the watch is parked at index ${parkedAt}`);
  const restored = Date.now();
  consul.moveIndexBackwards();
  const now = consul.serviceIndex(SERVICE);
  t.ok(now < parkedAt, `the restore moved the service index back to ${now}`);

  const isHealth = (r: LoggedRequest) => r.path === HEALTH && r.time >= restored;
  const resync = await consul.waitForRequest((r) => isHealth(r) && (r.query.get('index') ?? '0') === '0', 5000);
  t.equal(resync.query.get('index') ?? '0', '0', `a non-blocking full resync (index 0) ${resync.time - restored} ms after the restore`);

  // Measurement window: how often the watch asks once it is back in step.
  const WINDOW_MS = 3000;
  await sleep(WINDOW_MS);
  const inWindow = consul.requests.filter((r) => r.path === HEALTH && r.time > resync.time && r.time <= resync.time + WINDOW_MS);
  t.ok(inWindow.length >= 2 && inWindow.length <= 6, `${inWindow.length} requests in the ${WINDOW_MS} ms after the resync (1 s blocking waits: ~3; a busy loop through the 20 ms bucket would be ~150)`);
  const indexes = inWindow.map((r) => Number(r.query.get('index')));
  t.ok(indexes.every((i) => i >= 1 && i <= consul.serviceIndex(SERVICE)), `they block on the restored index (${[...new Set(indexes)].join(', ')}), not the old ${parkedAt}`);

  const registered = Date.now();
  register(consul, c, 'c');
  const first = await tr.until((s) => s.backend === c.id, registered, 5000, `on ${c.id}`);
  t.ok(first.done - registered <= 1000, `after the resync a new instance still gets traffic within 1 s (${first.done - registered} ms)`);
  await tr.stop();
  t.same(failed(tr.log), [], `all ${tr.log.length} requests answered 200`);
});
