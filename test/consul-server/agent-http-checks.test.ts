// Agent HTTP and TCP checks (used by the simulator's self-registration): they probe the
// target at registration and every Interval, map 2xx/429/other, and honour the thresholds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { HealthEntry } from '../support/consul/catalog';
import type { ConsulTestServer } from '../support/consul/server';
import { call, startConsul } from './helpers';

async function target(t: Test) {
  const state = { status: 200 };
  const server = http.createServer((_req, res) => {
    res.writeHead(state.status);
    res.end(`status ${state.status}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { state, port: (server.address() as AddressInfo).port };
}

async function checkOf(consul: ConsulTestServer, service: string, checkId: string) {
  const entries = (await call(consul.url, `/v1/health/service/${service}`)).json<HealthEntry[]>();
  return entries[0].Checks.find((c) => c.CheckID === checkId)!;
}

t.test('HTTP checks probe the target and follow its status', async (t) => {
  const consul = await startConsul(t, { clock: 'manual' });
  const { state, port } = await target(t);
  const url = `http://127.0.0.1:${port}/health`;
  await call(consul.url, '/v1/agent/service/register', {
    method: 'PUT',
    body: JSON.stringify({ Name: 'sim', ID: 'sim-1', Port: port, Check: { HTTP: url, Interval: '5s', FailuresBeforeCritical: 2 } }),
  });
  const id = 'service:sim-1';
  await consul.waitForProbes(id, 1);
  const first = await checkOf(consul, 'sim', id);
  t.same([first.Status, first.Type, first.Interval, first.Timeout], ['passing', 'http', '5s', '10s'], 'first probe at registration');
  t.equal(first.Output, `HTTP GET ${url}: 200 OK Output: status 200`);

  state.status = 429;
  consul.advanceClock(4999);
  t.equal(consul.agent.probeCount(id), 1, 'nothing before the interval');
  consul.advanceClock(1);
  await consul.waitForProbes(id, 2);
  t.equal((await checkOf(consul, 'sim', id)).Status, 'warning', '429 is warning');

  state.status = 500;
  consul.advanceClock(5000);
  await consul.waitForProbes(id, 3);
  t.equal((await checkOf(consul, 'sim', id)).Status, 'warning', 'one failure is below FailuresBeforeCritical');
  consul.advanceClock(5000);
  await consul.waitForProbes(id, 4);
  const critical = await checkOf(consul, 'sim', id);
  t.equal(critical.Status, 'critical', 'critical after two failures');
  t.match(critical.Output, /: 500 Internal Server Error Output: status 500$/);
});

t.test('TCP checks', async (t) => {
  const consul = await startConsul(t);
  const { port } = await target(t);
  const put = (body: unknown) => call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify(body) });
  await put({ Name: 'up', Check: { TCP: `127.0.0.1:${port}`, Interval: '10s' } });
  await put({ Name: 'down', Check: { TCP: '127.0.0.1:1', Interval: '10s', Status: 'passing' } });
  await consul.waitForProbes('service:up', 1);
  await consul.waitForProbes('service:down', 1);
  const up = await checkOf(consul, 'up', 'service:up');
  t.same([up.Status, up.Output], ['passing', `TCP connect 127.0.0.1:${port}: Success`]);
  const down = await checkOf(consul, 'down', 'service:down');
  t.equal(down.Status, 'critical');
  t.match(down.Output, /^dial tcp 127\.0\.0\.1:1: /);
});
