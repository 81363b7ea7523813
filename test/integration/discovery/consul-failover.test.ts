// Datacenter failover: every listed datacenter is watched; the set of the first one with
// at least min_healthy passing instances is delivered.
import t from 'tap';
import type { Endpoint } from '../../../lib/discovery/types';
import { addInstance, ids, next, startConsul, startSource } from './support';

t.test('fails over below min_healthy and comes back when the preferred datacenter recovers', async (t) => {
  const server = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2'] });
  addInstance(server, 'a1', 9001, { datacenter: 'dc1' });
  addInstance(server, 'b1', 9002, { datacenter: 'dc1' });
  addInstance(server, 'a2', 9101, { datacenter: 'dc2' });
  addInstance(server, 'b2', 9102, { datacenter: 'dc2' });
  const { source } = startSource(t, server.url, {}, { datacenters: ['dc1', 'dc2'], min_healthy: 2 });
  const failovers: [string | undefined, string | undefined][] = [];
  source.on('failover', (from, to) => failovers.push([from, to]));

  const [first, dc] = await next<[Endpoint[], string]>(source, 'deliver');
  t.equal(dc, 'dc1');
  t.same(ids(first), ['a1@dc1', 'b1@dc1']);

  let delivered = next<[Endpoint[], string]>(source, 'deliver');
  server.setCheckStatus('service:b1', 'critical', undefined, { datacenter: 'dc1' });
  const [away, awayDc] = await delivered;
  t.equal(awayDc, 'dc2', 'one passing instance is below min_healthy: dc2 serves');
  t.same(ids(away), ['a2@dc2', 'b2@dc2']);
  t.same(away[0]!.datacenter, 'dc2');
  t.match(source.status().detail, { active: 'dc2', datacenters: [{ name: 'dc1', passing: 1 }, { name: 'dc2', passing: 2 }] });

  delivered = next<[Endpoint[], string]>(source, 'deliver');
  addInstance(server, 'c2', 9103, { datacenter: 'dc2' });
  t.same(ids((await delivered)[0]), ['a2@dc2', 'b2@dc2', 'c2@dc2'], 'changes in the serving datacenter are delivered');

  delivered = next<[Endpoint[], string]>(source, 'deliver');
  server.setCheckStatus('service:b1', 'passing', undefined, { datacenter: 'dc1' });
  const [back, backDc] = await delivered;
  t.equal(backDc, 'dc1', 'traffic returns when dc1 recovers');
  t.same(ids(back), ['a1@dc1', 'b1@dc1']);
  t.same(failovers, [[undefined, 'dc1'], ['dc1', 'dc2'], ['dc2', 'dc1']]);
  t.ok(server.requests.some((r) => r.query.get('dc') === 'dc1') && server.requests.some((r) => r.query.get('dc') === 'dc2'), 'both datacenters are watched');
});

t.test('changes in a standby datacenter are not delivered', async (t) => {
  const server = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2'] });
  addInstance(server, 'a1', 9001, { datacenter: 'dc1' });
  addInstance(server, 'a2', 9101, { datacenter: 'dc2' });
  const { source, deliveries } = startSource(t, server.url, {}, { datacenters: ['dc1', 'dc2'] });
  await next(source, 'deliver');
  const answered = next<[string, Endpoint[]]>(source, 'answer');
  addInstance(server, 'b2', 9102, { datacenter: 'dc2' });
  const [dc, set] = await answered;
  t.equal(dc, 'dc2');
  t.same(ids(set), ['a2@dc2', 'b2@dc2']);
  t.equal(deliveries.length, 1);
});

t.test('a datacenter that cannot be reached keeps its last set and does not trigger failover', async (t) => {
  const server = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2'] });
  addInstance(server, 'a1', 9001, { datacenter: 'dc1' });
  addInstance(server, 'a2', 9101, { datacenter: 'dc2' });
  const { source, deliveries } = startSource(t, server.url, {}, { datacenters: ['dc1', 'dc2'] });
  await next(source, 'deliver');
  await server.waitForBlocked(2);
  server.failNext(3, { path: '/v1/health/service/', status: 500, body: 'No path to datacenter' });
  server.touchService('vllm', { datacenter: 'dc1' });
  const [dc, err] = await next<[string, Error]>(source, 'fail');
  t.equal(dc, 'dc1');
  t.match(err.message, /No path to datacenter/);
  t.equal(deliveries.length, 1);
  t.match(source.status(), { ok: false, detail: { active: 'dc1' } });
});

t.test('nearest: N watches the local datacenter and the N nearest others, in RTT order', async (t) => {
  const server = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2', 'dc3'] });
  addInstance(server, 'a2', 9101, { datacenter: 'dc2' });
  addInstance(server, 'a3', 9201, { datacenter: 'dc3' });
  const { source } = startSource(t, server.url, {}, { nearest: 1 });
  const [set, dc] = await next<[Endpoint[], string]>(source, 'deliver');
  t.equal(dc, 'dc2', 'dc1 has no instances; dc2 is the nearest other');
  t.same(ids(set), ['a2@dc2']);
  t.same((source.status().detail!.datacenters as { name: string }[]).map((d) => d.name), ['dc1', 'dc2']);
  t.notOk(server.requests.some((r) => r.query.get('dc') === 'dc3'), 'dc3 is beyond nearest: 1');
  t.equal(server.countRequests('/v1/catalog/datacenters'), 1);
});

t.test('when no datacenter reaches min_healthy the largest serves', async (t) => {
  const server = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2'] });
  addInstance(server, 'a1', 9001, { datacenter: 'dc1' });
  addInstance(server, 'a2', 9101, { datacenter: 'dc2' });
  addInstance(server, 'b2', 9102, { datacenter: 'dc2' });
  const { source } = startSource(t, server.url, {}, { datacenters: ['dc1', 'dc2'], min_healthy: 3 });
  const [set, dc] = await next<[Endpoint[], string]>(source, 'deliver');
  t.equal(dc, 'dc2');
  t.same(ids(set), ['a2@dc2', 'b2@dc2']);
});
