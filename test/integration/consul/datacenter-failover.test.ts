// Datacenter failover end to end: a pool watching dc1 then dc2. When every instance in dc1
// turns critical, traffic moves to dc2 (after `empty_grace`: an empty healthy answer is
// held that long before it is believed); when dc1 passes again, traffic returns, and
// session keys land on the very backends they had before the failover. Keyed passes run
// once the pool has scraped its backends (see scraped() in support.ts).
import t from 'tap';
import { consulPool, consulSection, daemon, failed, keyedPass, register, scraped, startConsul, startSims, traffic } from './support';

const ROUTES = [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'gpu' }];
const HEADER = 'x-session-id';
const GRACE_MS = 300;
const KEYS = Array.from({ length: 200 }, (_, i) => `session-${i}`);

t.test('dc1 emptied: traffic moves to dc2 and back, sticky keys return to their backends', async (t) => {
  const consul = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2'] });
  const fleet = await startSims(t, 6);
  const dc1 = fleet.instances.slice(0, 3);
  const dc2 = fleet.instances.slice(3);
  dc1.forEach((inst, i) => register(consul, inst, `a${i}`, { datacenter: 'dc1' }));
  dc2.forEach((inst, i) => register(consul, inst, `b${i}`, { datacenter: 'dc2' }));
  const dc1Ids = new Set(dc1.map((i) => i.id));
  const dc2Ids = new Set(dc2.map((i) => i.id));
  const inDc = (ids: Set<string>) => (s: { backend?: string }) => s.backend !== undefined && ids.has(s.backend);

  const d = await daemon(t, {
    consul: consulSection(consul.url, { empty_grace: `${GRACE_MS}ms` }),
    pools: { gpu: consulPool({ datacenters: ['dc1', 'dc2'] }, { strategy: 'session-affinity', session: { header: HEADER } }) },
    routes: ROUTES,
  });

  const dc1Endpoints = ['a0@dc1', 'a1@dc1', 'a2@dc1'];
  await scraped(d, 'gpu', dc1Endpoints);
  const before = await keyedPass(d.url, KEYS, HEADER);
  t.same(before.failures, [], 'keyed pass before the failover: all 200');
  const homes = [...before.seen.values()];
  t.ok(homes.every((b) => b !== undefined && dc1Ids.has(b)), 'every key is served in dc1');
  t.equal(new Set(homes).size, 3, 'the keys spread over the three dc1 backends');

  const tr = traffic(t, d.url, 2);
  const emptied = Date.now();
  dc1.forEach((_, i) => consul.setCheckStatus(`service:a${i}`, 'critical', 'HTTP GET /health: connection refused', { datacenter: 'dc1' }));
  const firstAway = await tr.until(inDc(dc2Ids), emptied, 5000, 'in dc2');
  t.ok(firstAway.done - emptied <= GRACE_MS + 1000, `traffic reached dc2 ${firstAway.done - emptied} ms after dc1 emptied (grace ${GRACE_MS} ms + 1 s)`);
  await tr.until(() => true, firstAway.done + 300, 5000, '300 ms into the failover');
  const away = tr.between(firstAway.done);
  t.ok(away.length > 0 && away.every(inDc(dc2Ids)), `once moved, all ${away.length} requests stay in dc2`);
  await tr.stop();

  await scraped(d, 'gpu', ['b0@dc2', 'b1@dc2', 'b2@dc2']);
  const during = await keyedPass(d.url, KEYS, HEADER);
  t.same(during.failures, [], 'keyed pass during the failover: all 200');
  t.ok([...during.seen.values()].every((b) => b !== undefined && dc2Ids.has(b)), 'every key is served in dc2');

  const tr2 = traffic(t, d.url, 2);
  const recovered = Date.now();
  dc1.forEach((_, i) => consul.setCheckStatus(`service:a${i}`, 'passing', 'HTTP GET /health: 200', { datacenter: 'dc1' }));
  const firstBack = await tr2.until(inDc(dc1Ids), recovered, 5000, 'back in dc1');
  t.ok(firstBack.done - recovered <= 1000, `traffic returned to dc1 ${firstBack.done - recovered} ms after it recovered`);
  await Promise.all(dc1.map((x) => tr2.until((s) => s.backend === x.id, recovered, 5000, `on ${x.id}`)));
  await tr2.until(() => true, firstBack.done + 300, 5000, '300 ms after the return');
  const back = tr2.between(firstBack.done);
  t.ok(back.every(inDc(dc1Ids)), `once back, all ${back.length} requests stay in dc1`);
  await tr2.stop();
  t.same(failed([...tr.log, ...tr2.log]), [], `all ${tr.log.length + tr2.log.length} unkeyed requests answered 200`);

  await scraped(d, 'gpu', dc1Endpoints);
  const after = await keyedPass(d.url, KEYS, HEADER);
  t.same(after.failures, [], 'keyed pass after the return: all 200');
  const moved = KEYS.filter((k) => after.seen.get(k) !== before.seen.get(k));
  t.same(moved, [], `all ${KEYS.length} keys are back on the backend they had before the failover`);
});
