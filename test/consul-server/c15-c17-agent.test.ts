// C15–C17: agent registration with the npm client, TTL semantics on a manual clock, and the
// agent write endpoints' answers.
import Consul from 'consul';
import t from 'tap';
import type { HealthEntry } from '../support/consul/catalog';
import { consulFixture } from '../support/consul/fixtures';
import { call, portOf, startConsul } from './helpers';

t.test('C15: new checks start critical; generated IDs and names', async (t) => {
  const consul = await startConsul(t);
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());

  // The client's .d.ts wants every check field; it sends only what is given.
  const register = (opts: object) => client.agent.service.register(opts as unknown as { name: string });
  await register({ name: 'llm-inference', id: 'llm-1', port: 8000, check: { ttl: '15s' } });
  t.same(await client.health.service({ service: 'llm-inference', passing: true }), [], 'excluded by ?passing until the first pass');
  const [entry] = (await call(consul.url, '/v1/health/service/llm-inference')).json<HealthEntry[]>();
  const check = entry.Checks.find((c) => c.ServiceID === 'llm-1')!;
  t.equal(check.CheckID, 'service:llm-1');
  t.equal(check.Name, "Service 'llm-inference' check");
  t.equal(check.Status, 'critical');
  await call(consul.url, '/v1/agent/check/pass/service:llm-1', { method: 'PUT' });
  t.equal((await client.health.service({ service: 'llm-inference', passing: true })).length, 1);

  await register({
    name: 'multi',
    id: 'm-1',
    checks: [{ ttl: '15s' }, { ttl: '15s', status: 'warning' }, { ttl: '15s', checkid: 'custom', name: 'Custom' }],
  });
  const [m] = (await call(consul.url, '/v1/health/service/multi')).json<HealthEntry[]>();
  const svcChecks = m.Checks.filter((c) => c.ServiceID === 'm-1').map((c) => [c.CheckID, c.Name, c.Status]);
  t.same(svcChecks, [
    ['service:m-1:1', "Service 'multi' check", 'critical'],
    ['service:m-1:2', "Service 'multi' check", 'warning'],
    ['custom', 'Custom', 'critical'],
  ]);

  // The body the npm client really sends (fixture) registers as-is with its explicit Status.
  const body = consulFixture<Record<string, unknown>>('agent-service-register.request.json');
  t.equal((await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify(body) })).status, 200);
  const [f] = (await call(consul.url, '/v1/health/service/llm-inference?filter=' + encodeURIComponent('Service.ID == "llm-inference-gpu-node-01-8000"'))).json<HealthEntry[]>();
  t.same(f.Service.Meta, (body as { Meta: unknown }).Meta);
  t.equal(f.Checks.find((c) => c.ServiceID !== '')!.Status, 'critical');
});

t.test('C16: TTL semantics on a manual clock', async (t) => {
  const consul = await startConsul(t, { clock: 'manual', checkUpdateIntervalMs: 60_000 });
  const reg = { Name: 'llm', ID: 'llm-1', Check: { TTL: '2s', Status: 'passing' } };
  await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify(reg) });
  const status = async () => (await call(consul.url, '/v1/health/service/llm')).json<HealthEntry[]>()[0].Checks[1];

  // No pass within the TTL: critical with "TTL expired", and the blocked watcher wakes.
  const idx = consul.serviceIndex('llm');
  const blocked = call(consul.url, `/v1/health/service/llm?index=${idx}&wait=30s`);
  await consul.waitForBlocked(1);
  consul.advanceClock(1999);
  t.equal((await status()).Status, 'passing', 'still passing just before the TTL');
  consul.advanceClock(1);
  const woke = await blocked;
  t.ok(woke.index! > idx);
  t.equal(woke.json<HealthEntry[]>()[0].Checks[1].Status, 'critical');
  t.equal(woke.json<HealthEntry[]>()[0].Checks[1].Output, 'TTL expired');

  // pass with a note sets Output and resets the TTL clock.
  await call(consul.url, '/v1/agent/check/pass/service:llm-1?note=ok', { method: 'PUT' });
  t.same([(await status()).Status, (await status()).Output], ['passing', 'ok']);
  const steady = consul.serviceIndex('llm');
  for (let i = 0; i < 8; i++) {
    consul.advanceClock(500);
    await call(consul.url, '/v1/agent/check/pass/service:llm-1?note=ok', { method: 'PUT' });
  }
  t.equal(consul.serviceIndex('llm'), steady, 'repeated identical passes every 500 ms: index constant, no expiry');

  // An output-only change is deferred (check_update_interval, 60 s here); a status change is not.
  const heartbeat = () => call(consul.url, '/v1/agent/check/pass/service:llm-1?note=queue%3D3', { method: 'PUT' });
  await heartbeat();
  for (let s = 1; s < 60; s++) {
    consul.advanceClock(1000);
    await heartbeat();
  }
  t.equal(consul.serviceIndex('llm'), steady, 'output-only change not synced within the interval');
  t.equal((await status()).Output, 'ok');
  consul.advanceClock(1000);
  t.ok(consul.serviceIndex('llm') > steady, 'deferred output synced after the interval');
  t.same([(await status()).Status, (await status()).Output], ['passing', 'queue=3']);
  await call(consul.url, '/v1/agent/check/warn/service:llm-1?note=slow', { method: 'PUT' });
  t.same([(await status()).Status, (await status()).Output], ['warning', 'slow'], 'status change synced at once');

  // Expiry after an output keeps the last output.
  consul.advanceClock(2000);
  t.equal((await status()).Output, 'TTL expired (last output before timeout follows): slow');
});

t.test('C16: DeregisterCriticalServiceAfter removes the service (at least 1 m)', async (t) => {
  const consul = await startConsul(t, { clock: 'manual' });
  const reg = { Name: 'gone', ID: 'gone-1', Check: { TTL: '5s', DeregisterCriticalServiceAfter: '10s' } };
  await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify(reg) });
  consul.advanceClock(59_000);
  t.equal((await call(consul.url, '/v1/health/service/gone')).json().length, 1, '10s is raised to the 1 m minimum');
  consul.advanceClock(1_000);
  t.equal((await call(consul.url, '/v1/health/service/gone')).text, '[]', 'removed after 1 m critical');
  t.same((await call(consul.url, '/v1/agent/services')).json(), {});
});

t.test('C17: agent write endpoints', async (t) => {
  const consul = await startConsul(t);
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const put = (path: string, body?: unknown) => call(consul.url, path, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });

  const reg = await put('/v1/agent/service/register', { Name: 'llm', ID: 'llm-1', Port: 8000, Check: { TTL: '30s' } });
  t.equal(reg.status, 200);
  t.equal(reg.text, '', 'empty body');
  t.equal((await call(consul.url, '/v1/health/service/llm')).json().length, 1, 'visible as soon as register answered');

  await put('/v1/agent/service/register', { Name: 'llm', ID: 'llm-1', Port: 9000, Tags: ['v2'], Check: { TTL: '30s' } });
  const [replaced] = (await call(consul.url, '/v1/health/service/llm')).json<HealthEntry[]>();
  t.same([replaced.Service.Port, replaced.Service.Tags], [9000, ['v2']], 're-registering the same ID replaces it');

  const unknownSvc = await put('/v1/agent/service/deregister/nope');
  t.equal(unknownSvc.status, 404);
  t.equal(unknownSvc.text, 'Unknown service ID "nope". Ensure that the service ID is passed, not the service name.');
  const unknownCheck = await put('/v1/agent/check/pass/nope');
  t.equal(unknownCheck.status, 404);
  t.equal(unknownCheck.text, 'Unknown check ID "nope". Ensure that the check ID is passed, not the check name.');

  await put('/v1/agent/service/register', { Name: 'web', ID: 'web-1', Check: { TCP: '127.0.0.1:1', Interval: '10s' } });
  const notTtl = await put('/v1/agent/check/pass/service:web-1');
  t.equal(notTtl.status, 500);
  t.equal(notTtl.text, 'CheckID "service:web-1" does not have associated TTL');

  // The npm client encodes the ':' as %3A; the fake decodes path segments.
  await client.agent.check.pass({ id: 'service:llm-1', note: 'ok' });
  t.ok(consul.requests.some((r) => r.method === 'PUT' && r.path === '/v1/agent/check/pass/service:llm-1' && r.query.get('note') === 'ok'));
  const [passed] = (await call(consul.url, '/v1/health/service/llm')).json<HealthEntry[]>();
  t.same([passed.Checks[1].Status, passed.Checks[1].Output], ['passing', 'ok']);

  const dereg = await put('/v1/agent/service/deregister/llm-1');
  t.same([dereg.status, dereg.text], [200, '']);
  t.equal((await call(consul.url, '/v1/health/service/llm')).text, '[]');
});
