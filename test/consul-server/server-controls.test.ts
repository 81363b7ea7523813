// The test-only controls other suites rely on: stop/restart on the same port, injected
// failures, delays, the request log and its waiters.
import t from 'tap';
import { call, startConsul } from './helpers';

t.test('stop refuses connections and ends blocked queries; restart keeps port and state', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  const url = consul.url;
  const blocked = call(url, `/v1/health/service/svc?index=${consul.serviceIndex('svc')}&wait=30s`).then(
    () => 'answered',
    () => 'failed',
  );
  await consul.waitForBlocked(1);
  await consul.stop();
  t.equal(await blocked, 'failed', 'the pending blocking request is cut');
  t.equal(consul.blockedQueries, 0);
  const refused = await fetch(`${url}/v1/catalog/services`).then(
    () => undefined,
    (e: Error & { cause?: { code?: string } }) => e.cause?.code,
  );
  t.equal(refused, 'ECONNREFUSED');
  await consul.restart();
  t.equal(consul.url, url, 'same port');
  t.equal((await call(url, '/v1/health/service/svc')).json().length, 1, 'state kept');
});

t.test('failNext injects errors for the next n (matching) requests', async (t) => {
  const consul = await startConsul(t);
  consul.failNext(2, { status: 503, body: 'rpc error making call: EOF', path: '/v1/health/' });
  t.equal((await call(consul.url, '/v1/catalog/services')).status, 200, 'other paths unaffected');
  for (let i = 0; i < 2; i++) {
    const res = await call(consul.url, '/v1/health/service/svc');
    t.same([res.status, res.text, res.headers.get('content-type')], [503, 'rpc error making call: EOF', 'text/plain; charset=utf-8']);
  }
  t.equal((await call(consul.url, '/v1/health/service/svc')).status, 200, 'then back to normal');
  consul.failNext(1);
  t.same([(await call(consul.url, '/v1/kv/x')).status], [500], 'default status 500');
});

t.test('setDelay delays answers; the request log records them', async (t) => {
  const consul = await startConsul(t);
  // A long delay, so that "not delayed" stays distinguishable on a loaded machine.
  consul.setDelay(1500, '/v1/catalog/');
  const slow = await call(consul.url, '/v1/catalog/services');
  t.ok(slow.ms >= 1495, `delayed ${slow.ms.toFixed(0)} ms`);
  const fast = await call(consul.url, '/v1/health/service/svc?passing&tag=a&tag=b');
  t.ok(fast.ms < 1000, 'other paths not delayed');
  consul.setDelay(0);
  const logged = consul.requests.at(-1)!;
  t.same([logged.method, logged.path, logged.query.getAll('tag'), logged.query.has('passing')], ['GET', '/v1/health/service/svc', ['a', 'b'], true]);
  t.equal(consul.countRequests('/v1/catalog/'), 1);
  const later = consul.waitForRequest((r) => r.path === '/v1/kv/later');
  void call(consul.url, '/v1/kv/later');
  t.equal((await later).path, '/v1/kv/later', 'waitForRequest resolves on a future request');
  await t.rejects(consul.waitForRequest((r) => r.path === '/never', 50), /timed out/);
});

t.test('catalog controls on agent-registered services go through the agent', async (t) => {
  const consul = await startConsul(t);
  await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: 'sim', ID: 'sim-1', Check: { TTL: '30s' } }) });
  consul.setServiceMaintenance('sim-1', true, 'drain');
  const checks = (await call(consul.url, '/v1/agent/checks')).json();
  t.equal(checks['_service_maintenance:sim-1']?.Notes, 'drain', 'the agent knows the maintenance check');
  await call(consul.url, '/v1/agent/check/pass/service:sim-1', { method: 'PUT' });
  const ids = (await call(consul.url, '/v1/health/service/sim')).json()[0].Checks.map((c: { CheckID: string }) => c.CheckID);
  t.ok(ids.includes('_service_maintenance:sim-1'), 'a later agent sync keeps it');
  consul.setCheckStatus('service:sim-1', 'warning', 'forced');
  t.equal((await call(consul.url, '/v1/agent/checks')).json()['service:sim-1'].Status, 'warning');
  consul.deregisterService('sim-1');
  t.same((await call(consul.url, '/v1/agent/services')).json(), {});
  t.equal((await call(consul.url, '/v1/health/service/sim')).text, '[]');
});
