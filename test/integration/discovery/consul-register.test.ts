// Self-registration against the Consul test server's agent: the instance appears in the
// catalog with an HTTP check on the admin /healthz (served here by a stand-in listener),
// retries while the agent is away, and is removed on stop.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { SelfRegistration } from '../../../lib/discovery/consul-register';
import type { Endpoint } from '../../../lib/discovery/types';
import type { ConsulTestServer } from '../../support/consul/server';
import { next, settings, startConsul, startSource, TEST_RETRY } from './support';

/** A stand-in admin listener: answers /healthz 200 and reports each probe. */
async function startAdmin(t: Test): Promise<{ port: number; probes: http.Server }> {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404).end();
    server.emit('probe', req.url);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, probes: server };
}

function registration(t: Test, url: string, adminPort: number) {
  const { consul } = settings(url, { register: { enabled: true, service: 'switchyard', check_interval: '1s' } });
  const reg = new SelfRegistration({ consul, port: 8080, adminHost: '0.0.0.0', adminPort, id: 'switchyard-test-8080', retry: TEST_RETRY });
  t.teardown(() => reg.stop());
  return reg;
}

async function agentServices(server: ConsulTestServer): Promise<Record<string, { Service: string; Port: number }>> {
  return (await fetch(`${server.url}/v1/agent/services`)).json() as Promise<Record<string, { Service: string; Port: number }>>;
}

t.test('registers with an HTTP check on /healthz, shows up as passing, and is removed on stop', async (t) => {
  const server = await startConsul(t);
  const admin = await startAdmin(t);
  const { source } = startSource(t, server.url, {}, { service: 'switchyard' });
  await next(source, 'deliver'); // nothing registered yet: the empty set

  const reg = registration(t, server.url, admin.port);
  const probed = next<[string]>(admin.probes, 'probe');
  const appeared = next<[Endpoint[]]>(source, 'deliver');
  reg.start();
  t.same(await next(reg, 'registered'), ['switchyard-test-8080']);
  t.equal((await probed)[0], '/healthz', "the agent's check calls the admin /healthz, on loopback for a wildcard admin host");
  const [set] = await appeared;
  t.same(set.map((e) => [e.id, e.url]), [['switchyard-test-8080@dc1', 'http://127.0.0.1:8080']], 'passing in the catalog');

  await reg.stop();
  t.notOk('switchyard-test-8080' in (await agentServices(server)), 'deregistered on stop');
});

t.test('the default id is unique per host and port', async (t) => {
  const { consul } = settings('http://127.0.0.1:1', { register: { enabled: true, service: 'edge' } });
  const a = new SelfRegistration({ consul, port: 8080, adminHost: '127.0.0.1', adminPort: 9901 });
  const b = new SelfRegistration({ consul, port: 8081, adminHost: '127.0.0.1', adminPort: 9902 });
  t.match(a.id, /^edge-.+-8080$/);
  t.not(a.id, b.id);
  await Promise.all([a.stop(), b.stop()]);
});

t.test('retries while the agent is unreachable, then registers', async (t) => {
  const server = await startConsul(t);
  const admin = await startAdmin(t);
  await server.stop();
  const reg = registration(t, server.url, admin.port);
  reg.start();
  await next(reg, 'fail');
  await next(reg, 'fail');
  const registered = next(reg, 'registered');
  await server.restart();
  await registered;
  t.ok('switchyard-test-8080' in (await agentServices(server)));
  await reg.stop();
  t.notOk('switchyard-test-8080' in (await agentServices(server)));
});

t.test('stop after a failed register still deregisters (the agent may have applied it); 404 is fine', async (t) => {
  const server = await startConsul(t);
  const admin = await startAdmin(t);
  const reg = registration(t, server.url, admin.port);
  server.failNext(1, { path: '/v1/agent/service/register' });
  reg.start();
  await next(reg, 'fail');
  await reg.stop();
  t.equal(server.countRequests('/v1/agent/service/deregister/', 'PUT'), 1, 'a sent register may have been applied, so stop deregisters');
  t.same(await agentServices(server), {});
});
