// C21: consistency flags, and what clients see without a cluster leader.
import Consul from 'consul';
import t from 'tap';
import { call, EventQueue, portOf, startConsul } from './helpers';

t.test('C21: consistency flags', async (t) => {
  const consul = await startConsul(t);
  for (const q of ['stale', 'stale=1', 'stale=true', 'consistent', 'leader', 'cached']) {
    t.equal((await call(consul.url, `/v1/health/service/svc?${q}`)).status, 200, q);
  }
  t.equal((await call(consul.url, '/v1/health/service/svc?stale')).headers.get('x-consul-effective-consistency'), 'stale');
  const both = await call(consul.url, '/v1/health/service/svc?stale&consistent');
  t.same([both.status, both.text], [400, 'Cannot specify ?stale with ?consistent, conflicting semantics.']);
  const maxStale = await call(consul.url, '/v1/health/service/svc?stale&max_stale=soon');
  t.same([maxStale.status, maxStale.text], [400, 'Invalid max_stale value "soon"']);

  const led = await call(consul.url, '/v1/health/service/svc');
  t.same([led.headers.get('x-consul-knownleader'), led.headers.get('x-consul-lastcontact')], ['true', '0']);
});

t.test('C21: no-leader mode', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  consul.setLeader(false);
  for (const [path, init] of [
    ['/v1/health/service/svc', {}],
    ['/v1/health/service/svc?consistent', {}],
    ['/v1/catalog/services', {}],
    ['/v1/kv/k', {}],
    ['/v1/kv/k', { method: 'PUT', body: 'v' }],
    ['/v1/query', { method: 'POST', body: JSON.stringify({ Service: { Service: 'svc' } }) }],
  ] as Array<[string, RequestInit]>) {
    const res = await call(consul.url, path, init);
    t.same([res.status, res.text], [500, 'No cluster leader'], `${init.method ?? 'GET'} ${path}`);
  }
  const stale = await call(consul.url, '/v1/health/service/svc?stale');
  t.equal(stale.status, 200);
  t.equal(stale.json().length, 1);
  t.equal(stale.headers.get('x-consul-knownleader'), 'false');
  const held = await call(consul.url, `/v1/health/service/svc?stale&index=${stale.index}&wait=100ms`);
  t.ok(Number(held.headers.get('x-consul-lastcontact')) >= 100, `LastContact grows: ${held.headers.get('x-consul-lastcontact')} ms`);
  t.ok(Number(held.headers.get('x-consul-lastcontact')) >= Number(stale.headers.get('x-consul-lastcontact')));
  t.equal((await call(consul.url, '/v1/catalog/datacenters')).status, 200, 'datacenters need no leader');

  // The agent accepts a registration and syncs it when the leader is back.
  const reg = await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: 'late', ID: 'late-1' }) });
  t.equal(reg.status, 200);
  t.equal((await call(consul.url, '/v1/health/service/late?stale')).text, '[]', 'not in the catalog yet');
  consul.setLeader(true);
  t.equal((await call(consul.url, '/v1/health/service/late')).json().length, 1, 'synced once a leader exists');
});

t.test('C21: the npm Watch backs off on 500 and recovers on the first 2xx', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  consul.setLeader(false);
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const errors = new EventQueue<{ statusCode?: number; message: string }>();
  const changes = new EventQueue<number>();
  const watch = client.watch({ method: client.health.service, options: { service: 'svc', wait: '5s' } });
  watch.on('error', errors.push);
  watch.on('change', (data: unknown[]) => changes.push(data.length));
  t.teardown(() => watch.end());

  for (let i = 0; i < 3; i++) {
    const err = await errors.next();
    t.same([err.statusCode, err.message], [500, 'No cluster leader']);
  }
  const times = consul.requests.filter((r) => r.path === '/v1/health/service/svc').map((r) => r.time);
  const gaps = [times[1] - times[0], times[2] - times[1]];
  t.ok(gaps[0] >= 190, `first backoff ${gaps[0]} ms (~200)`);
  // Lower bounds only: a loaded machine stretches the first gap, not the doubling of the floor.
  t.ok(gaps[1] >= 390, `second backoff ${gaps[1]} ms (~400, twice the first floor)`);
  consul.setLeader(true);
  t.equal(await changes.next(), 1, 'recovered on the first 2xx');
});
