// Sticky splits end to end, keyed by a header, across reloads. While the weights stand,
// 100% of keys stay on their side (also across a reload that changes something else, and
// on a second Switchyard instance); moving green from 10% to 20% moves only blue keys to
// green, about 10% of all keys, exactly the ones weighted rendezvous hashing says; going
// back to 10% returns every key to its first side.
import t from 'tap';
import { startBackend, type Handler } from '../../support/backend';
import { startDaemon, type Daemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { WeightTable } from '../../../lib/routing/split';
import { admin, isReloaded, nextLog, pooled, quietPool, unwatchedWriter } from './support';

const KEYS = Array.from({ length: 1000 }, (_, i) => `sess-${i.toString(36)}-${(i * 7919) % 10007}`);
const named =
  (name: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
    res.end('{}');
  };

const predict = (blue: number, green: number) => {
  const table = new WeightTable([
    { name: 'blue', weight: blue, target: 'blue' },
    { name: 'green', weight: green, target: 'green' },
  ]);
  return new Map(KEYS.map((k) => [k, table.pickSticky(k).name]));
};

t.test('sticky keys across reloads', async (t) => {
  const blue = await startBackend(named('blue'));
  const green = await startBackend(named('green'));
  const config = (blueW: number, greenW: number, extraRoutes: object[] = []) => ({
    log: { access: false },
    pools: { blue: quietPool([blue.url]), green: quietPool([green.url]) },
    routes: [
      ...extraRoutes,
      { name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: blueW, green: greenW }, sticky: { header: 'x-session-id' } },
    ],
  });
  const d = await startDaemon(config(90, 10));
  const unwatched = unwatchedWriter(d);
  const dispatcher = agent();
  t.teardown(async () => {
    unwatched.cleanup();
    await closeAgents();
    await d.stop();
    await Promise.all([blue.close(), green.close()]);
  });

  /** Each key's side as the daemon chose it. */
  async function sides(daemon: Daemon, keys = KEYS): Promise<Map<string, string>> {
    const out = await pooled(keys, 32, async (key) => {
      const r = await call(`${daemon.url}/v1/chat/completions`, { body: '{}', headers: { 'x-session-id': key }, dispatcher });
      if (r.status !== 200) throw new Error(`status ${r.status} for ${key}`);
      return [key, String(r.headers['x-served-by'])] as const;
    });
    return new Map(out);
  }
  const agree = (a: Map<string, string>, b: Map<string, string>) => [...a].filter(([k, s]) => b.get(k) === s).length;
  const weightsNow = async () => (await admin(d, '/routes')).json().routes.find((r: { name: string }) => r.name === 'chat').split;

  const at90 = predict(90, 10);
  const first = await sides(d);
  t.equal(agree(first, at90), KEYS.length, 'every key is on the side rendezvous hashing gives it');
  const greenShare = [...first.values()].filter((s) => s === 'green').length / KEYS.length;
  t.ok(greenShare > 0.07 && greenShare < 0.13, `${(greenShare * 100).toFixed(1)}% of keys on green (weight 10%)`);

  const second = await sides(d);
  t.equal(agree(first, second), KEYS.length, '100% of keys keep their side on a second request');

  t.test('a second instance with the same config agrees on every key', async (t) => {
    const other = await startDaemon(config(90, 10));
    t.teardown(() => other.stop());
    t.equal(agree(await sides(other), first), KEYS.length, '100% of keys on the same side as on the first instance');
  });

  t.test('a reload that leaves the weights alone moves no key (SIGHUP)', async (t) => {
    unwatched.write(config(90, 10, [{ name: 'embeddings', match: { path_prefix: '/v1/embeddings' }, pool: 'green' }]));
    const reloaded = nextLog(d, isReloaded);
    d.proc.kill('SIGHUP');
    await reloaded;
    t.same((await admin(d, '/routes')).json().routes.map((r: { name: string }) => r.name), ['embeddings', 'chat'], 'the new route is in force');
    t.equal(agree(await sides(d), first), KEYS.length, '100% of keys keep their side');
  });

  t.test('green 10% -> 20% (file edit): only blue keys move, the predicted ~10%', async (t) => {
    const reloaded = nextLog(d, isReloaded);
    d.writeConfig(config(80, 20));
    await reloaded;
    t.same(await weightsNow(), { blue: 80, green: 20 }, '/routes shows the new weights');
    const at80 = predict(80, 20);
    const after = await sides(d);
    t.equal(agree(after, at80), KEYS.length, 'every key is where the new table puts it');
    let blueToGreen = 0;
    let greenToBlue = 0;
    for (const k of KEYS) {
      if (first.get(k) === 'blue' && after.get(k) === 'green') blueToGreen++;
      if (first.get(k) === 'green' && after.get(k) === 'blue') greenToBlue++;
    }
    const blueBefore = [...first.values()].filter((s) => s === 'blue').length;
    t.equal(greenToBlue, 0, 'no key moved from green to blue');
    t.ok(blueToGreen / KEYS.length > 0.07 && blueToGreen / KEYS.length < 0.13, `${((blueToGreen / KEYS.length) * 100).toFixed(1)}% of all keys moved (expected ≈10%, the least any scheme can move)`);
    t.ok(blueToGreen / blueBefore > 0.08 && blueToGreen / blueBefore < 0.145, `${((blueToGreen / blueBefore) * 100).toFixed(1)}% of blue's keys moved (expected ≈11.1%)`);
    t.equal(agree(await sides(d), after), KEYS.length, 'and they stay there while the weights stand');
  });

  t.test('back to 10% (POST /reload): every key is home again', async (t) => {
    unwatched.write(config(90, 10));
    const r = await admin(d, '/reload', { method: 'POST' });
    t.equal(r.status, 200, 'reload accepted');
    t.match(r.json(), { ok: true, changed: true }, 'and it changed the config');
    t.same(await weightsNow(), { blue: 90, green: 10 }, '/routes shows 90/10 again');
    t.equal(agree(await sides(d), first), KEYS.length, '100% of keys are on their first side');
  });
});
