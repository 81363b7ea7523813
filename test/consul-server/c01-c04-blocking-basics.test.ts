// C01–C04: index header presence and value, non-blocking index 0, stale index, and the
// hold-until-wait timeout answer.
import t from 'tap';
import { call, startConsul } from './helpers';

const SVC = { node: 'gpu-node-01', address: '10.20.1.11', service: { ID: 'llm-1', Service: 'llm-inference', Port: 8000 } };

t.test('C01: X-Consul-Index on blocking-capable reads, always >= 1, absent elsewhere', async (t) => {
  const consul = await startConsul(t);
  consul.registerService(SVC);
  const queryId = (await call(consul.url, '/v1/query', { method: 'POST', body: JSON.stringify({ Service: { Service: 'llm-inference' } }) })).json().ID;
  for (const path of [
    '/v1/health/service/llm-inference',
    '/v1/health/service/does-not-exist',
    '/v1/catalog/services',
    '/v1/kv/missing/key',
    `/v1/query/${queryId}/execute`,
  ]) {
    const res = await call(consul.url, path);
    t.match(res.headers.get('x-consul-index'), /^\d+$/, `${path} has a decimal index`);
    t.ok(res.index! >= 1, `${path} index ${res.index} >= 1`);
  }
  t.equal((await call(consul.url, '/v1/kv/missing/key')).status, 404, 'the KV 404 still carries the index');

  // A fresh datacenter's extinction index is 0 and must be reported as 1.
  consul.resetIndex(1);
  const fresh = await call(consul.url, '/v1/health/service/never-registered');
  t.equal(fresh.index, 1, 'index 0 is raised to 1');

  for (const path of ['/v1/catalog/datacenters', '/v1/coordinate/datacenters']) {
    const res = await call(consul.url, path);
    t.equal(res.status, 200);
    t.equal(res.headers.get('x-consul-index'), null, `${path} has no index`);
  }
});

t.test('C02: index absent or 0 never blocks', async (t) => {
  const consul = await startConsul(t);
  consul.registerService(SVC);
  for (const q of ['?index=0&wait=10s', '?wait=10s', '?index=&wait=10s']) {
    const res = await call(consul.url, `/v1/health/service/llm-inference${q}`);
    t.equal(res.status, 200);
    t.ok(res.ms < 1000, `${q} answered in ${res.ms.toFixed(0)} ms`);
  }
  t.equal(consul.blockedQueries, 0);
});

t.test('C03: a stale index returns immediately with the current index', async (t) => {
  const consul = await startConsul(t);
  consul.registerService(SVC);
  const i = (await call(consul.url, '/v1/health/service/llm-inference')).index!;
  consul.setCheckStatus('serfHealth', 'critical', 'node down', { node: 'gpu-node-01' });
  const j = consul.serviceIndex('llm-inference');
  t.ok(j > i);
  const res = await call(consul.url, `/v1/health/service/llm-inference?index=${i}&wait=30s`);
  t.ok(res.ms < 1000, `answered in ${res.ms.toFixed(0)} ms`);
  t.equal(res.index, j);
  t.equal(res.json()[0].Checks[0].Status, 'critical');
});

t.test('C04: no change holds for wait (+ jitter < wait/16), then 200 with the same index and body', async (t) => {
  const consul = await startConsul(t);
  consul.registerService(SVC);
  const first = await call(consul.url, '/v1/health/service/llm-inference');
  const res = await call(consul.url, `/v1/health/service/llm-inference?index=${first.index}&wait=1s`);
  t.equal(res.status, 200, 'not 304 or 204');
  t.ok(res.ms >= 995, `held ${res.ms.toFixed(0)} ms >= 1 s`);
  // The npm client aborts at wait + max(10 %, 500 ms) = 1.5 s: the answer must come before.
  t.ok(res.ms < 1062.5 + 400, `held ${res.ms.toFixed(0)} ms < 1.0625 s + slack, under the client's 1.5 s`);
  t.equal(res.index, first.index);
  t.equal(res.text, first.text, 'full, unchanged body');
});
