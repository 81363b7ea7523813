// Routes already in Consul KV when the daemon
// starts: the first request it answers must follow them, not the file's routes. The agent
// answers KV reads 300 ms late (a busy agent), which makes the start-up window visible.
import t from 'tap';
import { request } from 'undici';
import { consulPool, consulSection, daemon, keyedPass, register, startConsul, startSims } from './support';

t.test('routes present in KV at start apply from the first request', async (t) => {
  const consul = await startConsul(t);
  const fleet = await startSims(t, 2);
  const [blue, green] = fleet.instances as [typeof fleet.instances[0], typeof fleet.instances[0]];
  register(consul, blue, 'blue-0', { service: 'vllm-blue' });
  register(consul, green, 'green-0', { service: 'vllm-green' });
  const r = await request(`${consul.url}/v1/kv/switchyard/routes`, { method: 'PUT', body: 'routes:\n  - name: chat\n    match: { path_prefix: /v1/ }\n    split: { blue: 0, green: 100 }\n' });
  t.equal((await r.body.text()).trim(), 'true');
  consul.setDelay(300, '/v1/kv/');
  const d = await daemon(t, {
    consul: consulSection(consul.url, { kv: { enabled: true, prefix: 'switchyard/' } }),
    pools: { blue: consulPool({ service: 'vllm-blue' }), green: consulPool({ service: 'vllm-green' }) },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: 100, green: 0 } }],
  });
  const { seen } = await keyedPass(d.url, ['k1', 'k2', 'k3', 'k4', 'k5'], 'x-session-id');
  t.same([...new Set(seen.values())], [green.id], 'the first requests follow the KV routes (green 100)');
});
