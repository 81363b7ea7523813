// C23–C24: /catalog/services (tag union, blocking on the services table only) and the
// datacenter list ranked by the coordinates' median RTT.
import Consul from 'consul';
import t from 'tap';
import { type DatacenterCoordinates, medianRtt } from '../support/consul/coordinates';
import { consulFixture } from '../support/consul/fixtures';
import { call, portOf, startConsul } from './helpers';

t.test('C23: /v1/catalog/services', async (t) => {
  const consul = await startConsul(t);
  const tags = ['llama-3-70b-instruct', 'openai-compatible'];
  consul.registerService({ node: 'n1', service: { ID: 'l1', Service: 'llm-inference', Tags: tags } });
  consul.registerService({ node: 'n2', service: { ID: 'l2', Service: 'llm-inference', Tags: ['openai-compatible'] } });
  consul.registerService({ node: 'n2', service: { ID: 'e1', Service: 'embedding-inference', Tags: ['bge-large-en-v1.5'] } });
  const res = await call(consul.url, '/v1/catalog/services');
  t.same(res.json(), consulFixture('catalog-services.json'), 'name → deduplicated tag union, with consul');

  // A health change does not move the services table: the query holds until wait.
  const held = call(consul.url, `/v1/catalog/services?index=${res.index}&wait=300ms`);
  await consul.waitForBlocked(1);
  consul.setCheckStatus('serfHealth', 'critical', 'down', { node: 'n1' });
  const quiet = await held;
  t.ok(quiet.ms >= 295, `check flip did not wake it (held ${quiet.ms.toFixed(0)} ms)`);
  t.equal(quiet.index, res.index);

  const woken = call(consul.url, `/v1/catalog/services?index=${res.index}&wait=30s`);
  await consul.waitForBlocked(1);
  consul.registerService({ node: 'n3', service: { ID: 'r1', Service: 'reranker' } });
  const r = await woken;
  t.ok(r.ms < 5000 && r.index! > res.index!, 'a registration wakes it');
  t.same(r.json().reranker, []);

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  t.same(Object.keys(await client.catalog.services()), ['consul', 'embedding-inference', 'llm-inference', 'reranker']);
});

t.test('C24: datacenters ranked by median RTT; WAN coordinates', async (t) => {
  const coordinates = consulFixture<DatacenterCoordinates[]>('coordinate-datacenters.json');
  // Configured out of RTT order on purpose: the ranking must come from the coordinates.
  const consul = await startConsul(t, { datacenter: 'us-east-1', datacenters: ['eu-west-1', 'us-west-2'], coordinates });
  t.ok(Math.abs(medianRtt(coordinates, 'us-east-1', 'us-west-2') * 1000 - 64.9) < 0.1, 'us-west-2 ≈ 64.9 ms');
  t.ok(Math.abs(medianRtt(coordinates, 'us-east-1', 'eu-west-1') * 1000 - 80.2) < 0.1, 'eu-west-1 ≈ 80.2 ms');

  const dcs = await call(consul.url, '/v1/catalog/datacenters');
  t.same(dcs.json(), consulFixture('catalog-datacenters.json'));
  t.equal(dcs.headers.get('x-consul-index'), null, 'not blocking: no index');
  consul.setLeader(false);
  t.same((await call(consul.url, '/v1/catalog/datacenters')).json(), consulFixture('catalog-datacenters.json'), 'works without a leader');
  consul.setLeader(true);

  const coords = await call(consul.url, '/v1/coordinate/datacenters');
  t.same(coords.json(), coordinates);
  t.equal(coords.headers.get('x-consul-index'), null);

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  t.same(await client.catalog.datacenters(), ['us-east-1', 'us-west-2', 'eu-west-1']);
  const watch = client.watch({ method: client.catalog.datacenters, options: {} });
  const err = await new Promise<Error>((resolve) => watch.on('error', resolve));
  await new Promise<void>((resolve) => (watch.isRunning() ? watch.on('end', () => resolve()) : resolve()));
  t.equal(err.message, 'Watch not supported', 'a watch on datacenters ends: no index header');

  const synthesized = await startConsul(t, { datacenter: 'dc1', datacenters: ['dc2', 'dc3'] });
  t.same((await call(synthesized.url, '/v1/catalog/datacenters')).json(), ['dc1', 'dc2', 'dc3'], 'default coordinates follow the list');
});
