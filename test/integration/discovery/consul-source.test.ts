// ConsulSource against the Consul-compatible test server over real HTTP: membership and
// health changes, last known good through outages, the index rules, backoff, empty grace.
import t, { type Test } from 'tap';
import type { ConsulSource } from '../../../lib/discovery/consul-source';
import type { Endpoint } from '../../../lib/discovery/types';
import { addInstance, ids, next, startConsul, startSource, watchingOne } from './support';

/** Records each failure and when it happened, to check that retries waited their backoff. */
function recordFails(source: ConsulSource): { at: number; retryMs: number }[] {
  const fails: { at: number; retryMs: number }[] = [];
  source.on('fail', (_dc, _err, retryMs) => fails.push({ at: Date.now(), retryMs }));
  return fails;
}

function assertBackedOff(t: Test, fails: { at: number; retryMs: number }[]): void {
  for (let i = 1; i < fails.length; i++) {
    t.ok(fails[i]!.at - fails[i - 1]!.at >= fails[i - 1]!.retryMs - 2, `attempt ${i + 1} waited its backoff`);
  }
}

const healthRequests = (server: { requests: { path: string }[] }) => server.requests.filter((r) => r.path.startsWith('/v1/health/service/vllm')).length;

t.test('delivers passing instances; a critical check removes one, a new instance appears', async (t) => {
  const server = await startConsul(t);
  addInstance(server, 'a', 9001, { meta: { model: 'llama-3-8b', weight: '3' } });
  addInstance(server, 'b', 9002);
  const { source } = startSource(t, server.url);

  const [first] = await next<[Endpoint[]]>(source, 'deliver');
  t.same(ids(first), ['a@dc1', 'b@dc1']);
  t.match(first[0], { url: 'http://127.0.0.1:9001', weight: 3, meta: { model: 'llama-3-8b', datacenter: 'dc1' }, datacenter: 'dc1' });
  const request = server.requests.find((r) => r.path === '/v1/health/service/vllm')!;
  t.equal(request.query.get('passing'), 'true', 'asks for passing instances only');

  let delivered = next<[Endpoint[]]>(source, 'deliver');
  server.setCheckStatus('service:a', 'critical');
  t.same(ids((await delivered)[0]), ['b@dc1'], 'critical instance removed');

  delivered = next<[Endpoint[]]>(source, 'deliver');
  addInstance(server, 'c', 9003);
  t.same(ids((await delivered)[0]), ['b@dc1', 'c@dc1'], 'new instance added');

  t.match(source.status(), { kind: 'consul', ok: true, detail: { active: undefined, datacenters: [{ ok: true, passing: 2 }] } });
  await server.waitForBlocked();
  const [watched] = source.status().detail!.datacenters as { index: number; requests: number }[];
  t.equal(watched!.index, server.serviceIndex('vllm'), 'status reports the index');
  t.equal(watched!.requests, healthRequests(server), 'and the requests sent');
});

t.test('tags are sent as repeated tag= parameters', async (t) => {
  const server = await startConsul(t);
  server.registerService({ node: 'n1', address: '127.0.0.1', service: { ID: 'x', Service: 'vllm', Port: 9001, Tags: ['llama', 'v2'] } });
  server.registerService({ node: 'n2', address: '127.0.0.1', service: { ID: 'y', Service: 'vllm', Port: 9002, Tags: ['llama'] } });
  const { source } = startSource(t, server.url, {}, { tags: ['llama', 'v2'] });
  const [set] = await next<[Endpoint[]]>(source, 'deliver');
  t.same(ids(set), ['x@dc1'], 'only instances with every tag');
  t.same(server.requests[0]!.query.getAll('tag'), ['llama', 'v2']);
});

t.test('a spurious wake-up (new index, same body) delivers nothing', async (t) => {
  const { server, source, deliveries } = await watchingOne(t);
  const answered = next(source, 'answer');
  server.touchService('vllm');
  await answered;
  t.equal(deliveries.length, 1);
});

t.test('Consul down from the start: nothing is delivered and retries back off', async (t) => {
  const server = await startConsul(t);
  const url = server.url;
  await server.stop();
  const { source, deliveries } = startSource(t, url);
  const fails = recordFails(source);
  for (let i = 0; i < 4; i++) await next(source, 'fail');
  t.equal(deliveries.length, 0, 'no set, and certainly no empty one');
  assertBackedOff(t, fails);
  t.ok(fails[3]!.retryMs > fails[0]!.retryMs, 'backoff grows');
  t.match(source.status(), { ok: false, lastError: /ECONNREFUSED/ });
});

t.test('Consul stopped after the first answer: the last set stays, no busy loop, recovery resumes delivery', async (t) => {
  const { server, source, deliveries } = await watchingOne(t);
  const fails = recordFails(source);
  await server.stop();
  for (let i = 0; i < 4; i++) await next(source, 'fail');
  t.equal(deliveries.length, 1, 'nothing delivered while Consul is unreachable');
  assertBackedOff(t, fails);
  t.equal(source.status().ok, false);

  addInstance(server, 'b', 9002);
  const delivered = next<[Endpoint[]]>(source, 'deliver');
  await server.restart();
  t.same(ids((await delivered)[0]), ['a@dc1', 'b@dc1'], 'the change made during the outage arrives');
  t.equal(source.status().ok, true);
});

t.test('a burst of 500s backs off (counted at the server) and keeps the last set', async (t) => {
  const { server, source, deliveries } = await watchingOne(t);
  const before = healthRequests(server);
  const fails = recordFails(source);
  server.failNext(5, { path: '/v1/health/service/' });
  server.touchService('vllm'); // wakes the parked query; the next five requests fail
  for (let i = 0; i < 5; i++) await next(source, 'fail');
  const delivered = next<[Endpoint[]]>(source, 'deliver');
  addInstance(server, 'b', 9002);
  t.same(ids((await delivered)[0]), ['a@dc1', 'b@dc1'], 'recovers and delivers the next change');
  t.equal(fails.length, 5);
  t.equal(healthRequests(server) - before, 5 + 1, 'after the parked query: five failures, one success, no extra retries');
  assertBackedOff(t, fails);
  t.equal(deliveries.length, 2, 'errors delivered nothing');
});

t.test('no cluster leader: 500s, last set kept, recovery on the first good answer', async (t) => {
  const { server, source, deliveries } = await watchingOne(t);
  server.setLeader(false);
  server.touchService('vllm');
  const [, err] = await next<[string, Error]>(source, 'fail');
  t.match(err.message, /No cluster leader/);
  addInstance(server, 'b', 9002);
  await next(source, 'fail');
  t.equal(deliveries.length, 1, 'nothing delivered without a leader');
  const delivered = next<[Endpoint[]]>(source, 'deliver');
  server.setLeader(true);
  t.same(ids((await delivered)[0]), ['a@dc1', 'b@dc1']);
});

t.test('an index that goes backwards causes one full resync and no busy loop', async (t) => {
  const { server, source } = await watchingOne(t, {}, { initialIndex: 1000 });
  const blockingIndex = Number(server.requests.at(-1)!.query.get('index'));
  server.moveIndexBackwards(); // snapshot restore: the parked query now waits on a future index
  t.ok(server.serviceIndex('vllm') < blockingIndex);
  addInstance(server, 'b', 9002); // still below the old index: only a reset can see it
  const [set] = await next<[Endpoint[]]>(source, 'deliver');
  t.same(ids(set), ['a@dc1', 'b@dc1']);
  await server.waitForBlocked();
  const after = server.requests.slice(server.requests.findIndex((r) => r.query.get('index') === String(blockingIndex)));
  t.same(
    after.map((r) => r.query.get('index')),
    [String(blockingIndex), '0', String(server.serviceIndex('vllm'))],
    'the stale wait times out, one index=0 resync, then a blocking query on the new index',
  );
});

t.test('an empty answer after a non-empty one is held for empty_grace, then believed', async (t) => {
  const { server, source, deliveries } = await watchingOne(t, { empty_grace: '300ms' });
  const held = next(source, 'hold-empty');
  server.deregisterService('a');
  await held;
  const heldAt = Date.now();
  t.equal(deliveries.length, 1, 'the last set is kept');
  t.match(source.status().detail, { datacenters: [{ holdingEmpty: true, passing: 1 }] });
  const [set] = await next<[Endpoint[]]>(source, 'deliver');
  t.same(set, [], 'the empty set is accepted after the grace period');
  t.ok(Date.now() - heldAt >= 290, 'not before empty_grace');
});

t.test('an instance that returns within empty_grace ends the hold without any delivery', async (t) => {
  const { server, source, deliveries } = await watchingOne(t, { empty_grace: '10s' });
  const held = next(source, 'hold-empty');
  server.deregisterService('a');
  await held;
  await server.waitForBlocked();
  const answered = next<[string, Endpoint[]]>(source, 'answer');
  addInstance(server, 'a', 9001);
  t.same(ids((await answered)[1]), ['a@dc1']);
  t.equal(deliveries.length, 1, 'the same set again is not a change');
  t.match(source.status().detail, { datacenters: [{ holdingEmpty: false, passing: 1 }] });
});

t.test('stop aborts the parked blocking query', async (t) => {
  const { server, source } = await watchingOne(t, { wait: '5m' });
  const started = Date.now();
  await source.stop(); // would hang for the 5 m wait if the request were not aborted
  t.ok(Date.now() - started < 2000, 'stop returns at once');
});
