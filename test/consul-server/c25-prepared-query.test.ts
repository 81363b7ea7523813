// C25: prepared query create and execute: local health filtering (warning kept), failover
// by NearestN then Failover.Datacenters, top-level Datacenter/Failovers.
import Consul from 'consul';
import t, { type Test } from 'tap';
import type { HealthEntry } from '../support/consul/catalog';
import type { DatacenterCoordinates } from '../support/consul/coordinates';
import { consulFixture } from '../support/consul/fixtures';
import { call, portOf, startConsul } from './helpers';

interface ExecuteResponse {
  Service: string;
  Nodes: HealthEntry[];
  Datacenter: string;
  Failovers: number;
  [k: string]: unknown;
}

const byNode = (a: HealthEntry, b: HealthEntry) => a.Node.Node.localeCompare(b.Node.Node);

async function setup(t: Test) {
  const consul = await startConsul(t, {
    datacenter: 'us-east-1',
    datacenters: ['us-west-2', 'eu-west-1'],
    coordinates: consulFixture<DatacenterCoordinates[]>('coordinate-datacenters.json'),
  });
  consul.loadHealth(consulFixture<HealthEntry[]>('health-service.json'));
  consul.loadHealth(consulFixture<ExecuteResponse>('query-execute.failover.json').Nodes, { datacenter: 'us-west-2' });
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const body = consulFixture<{ Name: string; Service: { Service: string; Failover: { NearestN: number; Datacenters: string[] }; OnlyPassing: boolean; Tags: string[] }; DNS: { TTL: string } }>('query-create.request.json');
  // service.tags is sent by the client but missing from its .d.ts; a non-literal argument is accepted.
  const opts = {
    name: body.Name,
    service: { service: body.Service.Service, failover: { nearestn: body.Service.Failover.NearestN, datacenters: body.Service.Failover.Datacenters }, onlypassing: false, tags: body.Service.Tags },
    dns: { ttl: body.DNS.TTL },
  };
  const created = await client.query.create(opts);
  t.same(consul.requests.at(-1)?.method, 'POST');
  return { consul, client, id: created.ID };
}

t.test('C25: execute in the local datacenter keeps warning instances', async (t) => {
  const { consul, client, id } = await setup(t);
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'POST /v1/query returns {"ID": uuid}');
  const expected = consulFixture<ExecuteResponse>('query-execute.json');
  for (const ref of [id, 'llm-inference-geo']) {
    const res = await call(consul.url, `/v1/query/${ref}/execute`);
    const got = res.json<ExecuteResponse>();
    t.same({ ...got, Nodes: got.Nodes.sort(byNode) }, { ...expected, Nodes: expected.Nodes.sort(byNode) }, `by ${ref === id ? 'ID' : 'name'}: as the fixture`);
    t.equal(res.index, 4711);
  }
  const viaClient = await client.query.execute('llm-inference-geo');
  t.same([viaClient.Datacenter, viaClient.Failovers, viaClient.Nodes.length], ['us-east-1', 0, 2]);
  t.equal((await call(consul.url, `/v1/query/${id}/execute?limit=1`)).json<ExecuteResponse>().Nodes.length, 1, 'limit truncates');

  // OnlyPassing drops the warning instance too.
  const strict = (await call(consul.url, '/v1/query', { method: 'POST', body: JSON.stringify({ Service: { Service: 'llm-inference', OnlyPassing: true } }) })).json().ID;
  t.same((await call(consul.url, `/v1/query/${strict}/execute`)).json<ExecuteResponse>().Nodes.map((e) => e.Node.Node), ['gpu-node-01']);

  const missing = await call(consul.url, '/v1/query/does-not-exist/execute');
  t.same([missing.status, missing.text], [404, 'Query not found']);
});

t.test('C25: an all-critical local datacenter fails over to the nearest one', async (t) => {
  const { consul, id } = await setup(t);
  consul.setCheckStatus('service:llm-inference-gpu-node-01-8000', 'critical');
  consul.setCheckStatus('service:llm-inference-gpu-node-02-8000', 'critical');
  const res = (await call(consul.url, `/v1/query/${id}/execute`)).json<ExecuteResponse>();
  t.same(res, consulFixture('query-execute.failover.json'), 'served by us-west-2 after 1 failover, as the fixture');

  // Nothing anywhere: every failover target is tried once, the answer stays local and empty.
  consul.setCheckStatus('service:llm-inference-gpu-node-21-8000', 'critical', undefined, { datacenter: 'us-west-2' });
  const none = (await call(consul.url, `/v1/query/${id}/execute`)).json<ExecuteResponse>();
  t.same([none.Datacenter, none.Failovers, none.Nodes], ['us-east-1', 2, []]);
});

t.test('C25: name_prefix_match templates', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'g1', Service: 'geo-llm', Tags: ['v1'] } });
  const body = { Name: 'geo-', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.suffix}' } };
  t.equal((await call(consul.url, '/v1/query', { method: 'POST', body: JSON.stringify(body) })).status, 200);
  const res = (await call(consul.url, '/v1/query/geo-geo-llm/execute')).json<ExecuteResponse>();
  t.same([res.Service, res.Nodes.length], ['geo-llm', 1]);
});
