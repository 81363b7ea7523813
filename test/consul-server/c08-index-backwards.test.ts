// C08: a client index from a "future" the server never saw blocks until wait, then answers
// the lower index; the npm Watch resets to 0 and emits change twice.
import Consul from 'consul';
import t from 'tap';
import { call, EventQueue, portOf, startConsul } from './helpers';

t.test('C08: index above the current one holds until wait and returns the lower index', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  consul.resetIndex(60);
  consul.touchService('svc');
  t.equal(consul.serviceIndex('svc'), 61);
  consul.resetIndex(50); // restore an older snapshot
  t.equal(consul.serviceIndex('svc'), 50, 'indexes above the restore point are clamped');
  const res = await call(consul.url, '/v1/health/service/svc?index=500&wait=1s');
  t.equal(res.status, 200);
  t.ok(res.ms >= 995, `held ${res.ms.toFixed(0)} ms, no early return`);
  t.equal(res.index, 50);
  t.equal(res.json().length, 1);
});

t.test('C08: moveIndexBackwards makes the npm Watch reset to index 0 and emit two changes', async (t) => {
  const consul = await startConsul(t, { initialIndex: 100 });
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const changes = new EventQueue<number>();
  const watch = client.watch({ method: client.health.service, options: { service: 'svc', wait: '1s' } });
  watch.on('change', (_data: unknown, res: { headers: Record<string, string> }) => changes.push(Number(res.headers['x-consul-index'])));
  watch.on('error', (err: Error) => t.fail(err.message));
  t.teardown(() => watch.end());

  const first = await changes.next();
  t.equal(first, 101);
  await consul.waitForRequest((r) => r.query.get('index') === '101');
  const seen = consul.requests.length;
  consul.moveIndexBackwards();
  const lower = await changes.next();
  t.equal(lower, 50, 'change for the lower index');
  const next = await consul.waitForRequest((r) => consul.requests.indexOf(r) >= seen);
  t.equal(next.query.get('index'), '0', 'the next request uses index=0');
  t.equal(await changes.next(), 50, 'second change from the index=0 request');
});
