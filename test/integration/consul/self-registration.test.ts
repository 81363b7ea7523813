// Self-registration: with `consul.register.enabled` the daemon registers itself with the
// local agent, with an HTTP check on its admin /healthz that the agent really runs, and
// leaves the catalog when it gets SIGTERM — before it drains, so that nothing new is sent
// to it while its last stream finishes.
import { hostname } from 'node:os';
import t from 'tap';
import { request } from 'undici';
import type { ConsulTestServer } from '../../support/consul/server';
import { consulPool, consulSection, daemon, MODEL, poll, register, startConsul, startSims } from './support';

interface Entry {
  Node: { Node: string };
  Service: { ID: string; Service: string; Address: string; Port: number };
  Checks: { CheckID: string; ServiceID: string; Status: string; Output: string }[];
}

async function catalog(consul: ConsulTestServer, service: string): Promise<Entry[]> {
  const r = await request(`${consul.url}/v1/health/service/${service}`);
  return (await r.body.json()) as Entry[];
}

t.test('the daemon appears in the catalog with a passing check on its /healthz, and leaves on SIGTERM', async (t) => {
  const consul = await startConsul(t);
  const fleet = await startSims(t, 1, 1); // real time: a 300-token stream lasts a couple of seconds
  register(consul, fleet.instances[0]!, 'a');
  const d = await daemon(t, {
    consul: consulSection(consul.url, { register: { enabled: true, service: 'switchyard', address: '127.0.0.1', check_interval: '1s' } }),
    pools: { gpu: consulPool({}) },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'gpu' }],
  });
  const id = `switchyard-${hostname()}-${d.port}`;

  await consul.waitForRequest((r) => r.method === 'PUT' && r.path === '/v1/agent/service/register');
  // The agent starts a new check critical and probes it at once, then every second.
  const entry = await poll(
    async () => (await catalog(consul, 'switchyard')).find((e) => e.Checks.some((c) => c.ServiceID === id && c.Status === 'passing')),
    5000,
    'a passing check on the daemon',
  );
  t.match(entry.Service, { ID: id, Service: 'switchyard', Address: '127.0.0.1', Port: d.port }, 'registered with the proxy port it bound');
  const check = entry.Checks.find((c) => c.ServiceID === id)!;
  t.match(check.Output, `HTTP GET http://127.0.0.1:${d.adminPort}/healthz: 200`, 'the check is an HTTP GET of the admin /healthz, answered 200');
  const probes = await consul.waitForProbes(check.CheckID, 2, 5000);
  t.ok(probes >= 2, `the agent keeps probing (${probes} probes so far)`);

  // A stream in flight when SIGTERM arrives.
  const stream = await request(`${d.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 300, stream: true, ignore_eos: true }),
  });
  t.equal(stream.statusCode, 200, 'a stream is running through the daemon');
  const chunks = stream.body[Symbol.asyncIterator]();
  await chunks.next();
  let streamEnded = 0;
  const rest = (async () => {
    let text = '';
    for (let c = await chunks.next(); !c.done; c = await chunks.next()) text += Buffer.from(c.value as Uint8Array).toString();
    streamEnded = Date.now();
    return text;
  })();

  const exited = d.stop('SIGTERM');
  const deregistered = await consul.waitForRequest((r) => r.method === 'PUT' && r.path === `/v1/agent/service/deregister/${id}`, 5000);
  t.same(await catalog(consul, 'switchyard'), [], 'it left the catalog');
  t.equal(streamEnded, 0, 'while its stream was still running');
  t.match(await rest, /data: \[DONE\]/, 'the stream then finished in full (drain)');
  t.ok(deregistered.time < streamEnded, `deregistered ${streamEnded - deregistered.time} ms before the stream ended`);
  t.equal(await exited, 0, 'the daemon exits cleanly');
  t.ok(d.logs.some((l) => l.msg === 'draining') && d.logs.some((l) => l.msg === 'stopped'), 'it drained and stopped');
});
