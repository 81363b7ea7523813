// Sticky keys are on their home backends as soon as traffic is back in dc1, not only after
// the pool's first scrape of the returning backends (unknown residency keeps a backend in).
import t from 'tap';
import { consulPool, consulSection, daemon, keyedPass, poll, register, scraped, startConsul, startSims, status } from './support';

const HEADER = 'x-session-id';
const KEYS = Array.from({ length: 200 }, (_, i) => `session-${i}`);

t.test('sticky keys are home as soon as dc1 serves again', async (t) => {
  const consul = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2'] });
  const fleet = await startSims(t, 6);
  const dc1 = fleet.instances.slice(0, 3);
  fleet.instances.forEach((inst, i) => register(consul, inst, i < 3 ? `a${i}` : `b${i - 3}`, { datacenter: i < 3 ? 'dc1' : 'dc2' }));
  const d = await daemon(t, {
    consul: consulSection(consul.url, { empty_grace: '300ms' }),
    pools: { gpu: consulPool({ datacenters: ['dc1', 'dc2'] }, { strategy: 'session-affinity', session: { header: HEADER } }) },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'gpu' }],
  });
  await scraped(d, 'gpu', ['a0@dc1', 'a1@dc1', 'a2@dc1']);
  const before = await keyedPass(d.url, KEYS, HEADER);

  dc1.forEach((_, i) => consul.setCheckStatus(`service:a${i}`, 'critical', undefined, { datacenter: 'dc1' }));
  await scraped(d, 'gpu', ['b0@dc2', 'b1@dc2', 'b2@dc2']);
  dc1.forEach((_, i) => consul.setCheckStatus(`service:a${i}`, 'passing', undefined, { datacenter: 'dc1' }));
  // Back in dc1 as far as discovery goes: every dc1 backend is in the pool again, not yet scraped.
  await poll(async () => {
    const ids = ((await status(d)).pools.gpu.backends as { id: string; draining: boolean }[]).filter((b) => !b.draining).map((b) => b.id).sort();
    return ids.join(',') === 'a0@dc1,a1@dc1,a2@dc1' ? true : undefined;
  }, 5000, 'dc1 back in the pool');

  const after = await keyedPass(d.url, KEYS.slice(0, 50), HEADER);
  const moved = KEYS.slice(0, 50).filter((k) => after.seen.get(k) !== before.seen.get(k));
  t.same(moved, [], 'keys sent right after the return land on their pre-failover backends');
});
