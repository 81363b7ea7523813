// C05–C06: health transitions and membership changes end blocked /health/service queries
// early; the last deregistration answers [] with a higher index.
import Consul from 'consul';
import t from 'tap';
import { call, EventQueue, portOf, startConsul } from './helpers';

t.test('C05: a check transition wakes a blocked /health/service early', async (t) => {
  const consul = await startConsul(t);
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  // The client's .d.ts wants every check field; it sends only what is given.
  const registration = { name: 'llm-inference', id: 'llm-1', port: 8000, check: { ttl: '30s', status: 'passing' } };
  await client.agent.service.register(registration as unknown as { name: string });
  const before = await call(consul.url, '/v1/health/service/llm-inference');
  t.equal(before.json()[0].Checks[1].Status, 'passing');

  const pending = call(consul.url, `/v1/health/service/llm-inference?index=${before.index}&wait=30s`);
  await consul.waitForBlocked(1);
  const failedAt = performance.now();
  await call(consul.url, '/v1/agent/check/fail/service:llm-1?note=overloaded', { method: 'PUT' });
  const res = await pending;
  t.ok(performance.now() - failedAt < 1000, 'returned right after the transition, long before wait=30s');
  t.ok(res.index! > before.index!, 'index moved');
  t.equal(res.json()[0].Checks[1].Status, 'critical');
  t.equal(res.json()[0].Checks[1].Output, 'overloaded');

  // Node-level serfHealth and maintenance transitions also wake the service's watchers.
  for (const change of [
    () => consul.setNodeHealth('consul-agent', 'critical', 'Agent not live or unreachable'),
    () => consul.setServiceMaintenance('llm-1', true, 'upgrade'),
    () => consul.setServiceMaintenance('llm-1', false),
  ]) {
    const idx = consul.serviceIndex('llm-inference');
    const blocked = call(consul.url, `/v1/health/service/llm-inference?index=${idx}&wait=30s`);
    await consul.waitForBlocked(1);
    change();
    const r = await blocked;
    t.ok(r.index! > idx && r.ms < 5000, `woke with index ${r.index} > ${idx}`);
  }
});

t.test('C06: membership changes wake watchers; the last deregistration answers []', async (t) => {
  const consul = await startConsul(t);
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc', Port: 1 } });
  consul.registerService({ node: 'n2', service: { ID: 'b', Service: 'svc', Port: 2 } });

  const changes = new EventQueue<{ ids: string[]; index: number }>();
  const watch = client.watch({ method: client.health.service, options: { service: 'svc', wait: '5s' } });
  watch.on('change', (data: Array<{ Service: { ID: string } }>, res: { headers: Record<string, string> }) =>
    changes.push({ ids: data.map((e) => e.Service.ID).sort(), index: Number(res.headers['x-consul-index']) }),
  );
  watch.on('error', (err: Error) => t.fail(`watch error: ${err.message}`));
  t.teardown(() => watch.end());

  const steps: Array<[() => void, string[]]> = [
    [() => {}, ['a', 'b']],
    [() => consul.deregisterService('a'), ['b']],
    [() => consul.deregisterService('b'), []],
    [() => consul.registerService({ node: 'n3', service: { ID: 'c', Service: 'svc', Port: 3 } }), ['c']],
  ];
  let last = 0;
  for (const [act, expected] of steps) {
    if (last > 0) await consul.waitForRequest((r) => r.path === '/v1/health/service/svc' && r.query.get('index') === String(last));
    act();
    const ev = await changes.next();
    t.same(ev.ids, expected, `instances ${JSON.stringify(expected)}`);
    t.ok(ev.index > last, `index ${ev.index} > ${last}`);
    last = ev.index;
  }
});
