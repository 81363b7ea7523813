// Consul self-registration, against the team's Consul-compatible test server (which runs
// the registered HTTP checks against the simulator's /health), read back with the npm client.
import t from 'tap';
import Consul from 'consul';
import { startSimFleet } from '../../../lib/sim';
import { ConsulTestServer } from '../../support/consul/server';

interface HealthEntry {
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[]; Meta: Record<string, string> };
  Checks: { CheckID: string; Status: string; ServiceID: string }[];
}

t.test('each instance registers with Meta and an HTTP check on /health, and deregisters on close', async (t) => {
  const consul = await ConsulTestServer.start({ datacenter: 'dc1' });
  t.teardown(() => consul.close());
  const u = new URL(consul.url);
  const client = new Consul({ host: u.hostname, port: Number(u.port) });
  t.teardown(() => client.destroy());

  const fleet = await startSimFleet({
    instances: 2,
    port: 0,
    timeScale: 0.01,
    consul: { url: consul.url, service: 'vllm', meta: { zone: 'us-east-1a', region: 'us-east-1', model_version: '2024-07-23' }, checkInterval: '1s' },
  });
  let closed = false;
  t.teardown(() => (closed ? undefined : fleet.close()));

  const entries = (await client.health.service({ service: 'vllm', passing: true })) as HealthEntry[];
  t.equal(entries.length, 2, 'both instances, passing');
  const byPort = new Map(entries.map((e) => [e.Service.Port, e]));
  for (const inst of fleet.instances) {
    const e = byPort.get(inst.port)!;
    t.ok(e, `instance ${inst.id} registered`);
    t.equal(e.Service.ID, `vllm-${inst.id}`);
    t.equal(e.Service.Address, '127.0.0.1');
    t.same(e.Service.Tags, ['llama-3-8b']);
    t.match(e.Service.Meta, { model: 'llama-3-8b', model_version: '2024-07-23', gpu_type: 'H100-80GB', zone: 'us-east-1a', region: 'us-east-1' });
    const check = e.Checks.find((c) => c.ServiceID === e.Service.ID)!;
    t.equal(check.Status, 'passing');
  }
  const reg = consul.requests.filter((r) => r.method === 'PUT' && r.path === '/v1/agent/service/register');
  t.equal(reg.length, 2);

  // the agent's HTTP check really probes the simulator: draining turns it critical
  const probesBefore = fleet.instances[0]!.state().counters.health_probes;
  fleet.instances[0]!.setFailure({ drain: true });
  let passing = 2;
  const end = Date.now() + 10_000;
  while (passing !== 1 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    passing = ((await client.health.service({ service: 'vllm', passing: true })) as HealthEntry[]).length;
  }
  t.equal(passing, 1, 'the draining instance fails its check');
  t.ok(fleet.instances[0]!.state().counters.health_probes > probesBefore);

  await fleet.close();
  closed = true;
  const after = (await client.health.service({ service: 'vllm' })) as HealthEntry[];
  t.same(after, [], 'deregistered on close');
});
