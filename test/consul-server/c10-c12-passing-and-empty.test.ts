// C10–C12: exact ?passing semantics, ?passing leaves the index alone, and empty lists.
import t from 'tap';
import type { HealthEntry } from '../support/consul/catalog';
import { consulFixture } from '../support/consul/fixtures';
import { call, startConsul } from './helpers';

const byNode = (a: HealthEntry, b: HealthEntry) => a.Node.Node.localeCompare(b.Node.Node);

t.test('C10: ?passing keeps only entries whose every check passes', async (t) => {
  const consul = await startConsul(t, { datacenter: 'us-east-1' });
  consul.loadHealth(consulFixture<HealthEntry[]>('health-service.json'));

  const all = await call(consul.url, '/v1/health/service/llm-inference');
  t.same(all.json<HealthEntry[]>().sort(byNode), consulFixture<HealthEntry[]>('health-service.json').sort(byNode), 'no filter: all 4, as the fixture');

  const passing = consulFixture<HealthEntry[]>('health-service.passing.json');
  for (const v of ['', '=true', '=1', '=t', '=T', '=TRUE', '=True']) {
    const res = await call(consul.url, `/v1/health/service/llm-inference?passing${v}`);
    t.same(res.json(), passing, `passing${v}: exactly the passing fixture`);
  }
  const nodes = (await call(consul.url, '/v1/health/service/llm-inference?passing')).json<HealthEntry[]>().map((e) => e.Node.Node);
  for (const gone of ['gpu-node-02', 'gpu-node-03', 'gpu-node-04']) t.notOk(nodes.includes(gone), `${gone} (warning/critical/maintenance) excluded`);

  for (const v of ['false', '0', 'f', 'F', 'FALSE', 'False']) {
    t.equal((await call(consul.url, `/v1/health/service/llm-inference?passing=${v}`)).json().length, 4, `passing=${v} disables the filter`);
  }
  const bad = await call(consul.url, '/v1/health/service/llm-inference?passing=maybe');
  t.equal(bad.status, 400);
  t.equal(bad.text, 'Invalid value for ?passing');

  // An instance with no check at all passes; a node-level critical check excludes it.
  consul.loadHealth([{ ...consulFixture<HealthEntry[]>('health-service.passing.json')[0], Node: { ...passing[0].Node, Node: 'bare' }, Checks: [] }]);
  t.ok((await call(consul.url, '/v1/health/service/llm-inference?passing')).json<HealthEntry[]>().some((e) => e.Node.Node === 'bare'));
  consul.setNodeHealth('gpu-node-01', 'critical');
  t.notOk((await call(consul.url, '/v1/health/service/llm-inference?passing')).json<HealthEntry[]>().some((e) => e.Node.Node === 'gpu-node-01'));
});

t.test('C11: ?passing does not change the index and wakes on filtered-out changes', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'a', service: { ID: 'A', Service: 'svc' }, checks: [{ Status: 'warning' }] });
  consul.registerService({ node: 'b', service: { ID: 'B', Service: 'svc' }, checks: [{ Status: 'passing' }] });
  const plain = await call(consul.url, '/v1/health/service/svc');
  const filtered = await call(consul.url, '/v1/health/service/svc?passing');
  t.equal(filtered.index, plain.index, 'same index with and without ?passing');
  t.same(filtered.json<HealthEntry[]>().map((e) => e.Service.ID), ['B']);

  const blocked = call(consul.url, `/v1/health/service/svc?passing&index=${filtered.index}&wait=30s`);
  await consul.waitForBlocked(1);
  consul.setCheckStatus('service:A', 'critical');
  const res = await blocked;
  t.ok(res.ms < 5000, 'returned early');
  t.ok(res.index! > filtered.index!);
  t.equal(res.text, filtered.text, 'same filtered body');
});

t.test('C12: unknown services are 200 [] and empty lists are never null', async (t) => {
  const consul = await startConsul(t);
  const res = await call(consul.url, '/v1/health/service/does-not-exist');
  t.equal(res.status, 200);
  t.equal(res.text, '[]');
  t.ok(res.index! >= 1);

  consul.registerService({ node: 'n', service: { ID: 'x', Service: 'svc' }, checks: [{}] });
  const [e] = (await call(consul.url, '/v1/health/service/svc')).json<HealthEntry[]>();
  t.same(e.Service.Tags, []);
  for (const c of e.Checks) t.same(c.ServiceTags, [], `${c.CheckID} ServiceTags`);

  consul.loadHealth([{ ...e, Service: { ...e.Service, ID: 'y' }, Node: { ...e.Node, Node: 'bare' }, Checks: [] }]);
  const bare = (await call(consul.url, '/v1/health/service/svc')).json<HealthEntry[]>().find((x) => x.Node.Node === 'bare')!;
  t.same(bare.Checks, []);
  t.equal((await call(consul.url, '/v1/health/service/svc?passing&tag=nope')).text, '[]', 'everything filtered out is [] too');
});
