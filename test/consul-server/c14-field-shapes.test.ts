// C14: the field shapes the proxy relies on, and registration's Meta validation.
import Consul from 'consul';
import t from 'tap';
import type { HealthEntry } from '../support/consul/catalog';
import { consulFixture } from '../support/consul/fixtures';
import { call, portOf, startConsul } from './helpers';

t.test('C14: field shapes', async (t) => {
  const consul = await startConsul(t, { datacenter: 'us-east-1' });
  consul.loadHealth(consulFixture<HealthEntry[]>('health-service.json'));
  const entries = (await call(consul.url, '/v1/health/service/llm-inference')).json<HealthEntry[]>();
  const node4 = entries.find((e) => e.Node.Node === 'gpu-node-04')!;
  t.equal(node4.Service.Address, '', 'Service.Address may be ""');
  t.equal(node4.Node.Address, '10.20.4.14', 'use Node.Address then');
  for (const e of entries) {
    t.equal(e.Node.Datacenter, 'us-east-1');
    t.same(e.Service.Weights, { Passing: 1, Warning: 1 });
  }

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  await client.agent.service.register({ name: 'bare', id: 'bare-1' });
  const [bare] = (await call(consul.url, '/v1/health/service/bare')).json<HealthEntry[]>();
  t.notOk('Port' in bare.Service, 'Port omitted when 0');
  t.equal(bare.Service.Meta, null, 'Meta may be null');
  t.same(bare.Service.Weights, { Passing: 1, Warning: 1 }, 'Weights defaulted');
  t.same(bare.Service.Tags, []);
  t.equal(bare.Node.Datacenter, 'us-east-1');

  const reg = (body: unknown) => call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify(body) });
  const numeric = await reg({ Name: 'x', Meta: { weight: 10 } });
  t.equal(numeric.status, 400);
  t.match(numeric.text, /^Request decode failed/);
  const reserved = await reg({ Name: 'x', Meta: { 'consul-x': 'v' } });
  t.equal(reserved.status, 400);
  t.match(reserved.text, /^Invalid Service Meta: .*Key prefix 'consul-' is reserved for internal use/);
  const badKey = await reg({ Name: 'x', Meta: { 'bad key': 'v' } });
  t.equal(badKey.status, 400);
  t.match(badKey.text, /^Invalid Service Meta/);
  const ok = await reg({ Name: 'x', Meta: { weight: '10' }, Weights: { Passing: 10, Warning: 1 } });
  t.equal(ok.status, 200);
  const [x] = (await call(consul.url, '/v1/health/service/x')).json<HealthEntry[]>();
  t.same(x.Service.Meta, { weight: '10' });
  t.same(x.Service.Weights, { Passing: 10, Warning: 1 });
});
