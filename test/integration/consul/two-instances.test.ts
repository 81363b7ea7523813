// Two Switchyard processes on one Consul, no state shared but the catalog: a blue/green
// split with a sticky key, each side a session-affinity pool discovered in Consul. Every
// key must get the same side and the same backend from both processes — with healthy
// scrapes, and with scrapes that time out (scrape timeout 4 ms against a localhost sim: a
// busy backend or a starved proxy), so that each process knows model residency for a
// different, changing subset of backends: unknown residency must not move keys.
import t from 'tap';
import { consulPool, consulSection, daemon, keyedPass, register, scraped, startConsul, startSims } from './support';

const HEADER = 'x-session-id';
const N = 1000;
const KEYS = Array.from({ length: N }, (_, i) => `user-${i}-${(i * 2654435761) % 1e9}`);

for (const { name, scrapeTimeout, waitForModels } of [
  { name: 'scrapes answered', scrapeTimeout: '2s', waitForModels: true },
  { name: 'scrapes timing out', scrapeTimeout: '4ms', waitForModels: false },
]) {
  t.test(`${name}: two processes pick the same split side and the same backend for 1,000 sticky keys`, async (t) => {
    const consul = await startConsul(t);
    const fleet = await startSims(t, 6);
    const blue = fleet.instances.slice(0, 3);
    const green = fleet.instances.slice(3);
    blue.forEach((inst, i) => register(consul, inst, `blue-${i}`, { service: 'vllm-blue' }));
    green.forEach((inst, i) => register(consul, inst, `green-${i}`, { service: 'vllm-green' }));
    const side = (backend: string | undefined) =>
      blue.some((i) => i.id === backend) ? 'blue' : green.some((i) => i.id === backend) ? 'green' : 'none';

    const pool = (service: string) =>
      consulPool({ service }, { strategy: 'session-affinity', session: { header: HEADER }, scrape: { timeout: scrapeTimeout } });
    const config = {
      consul: consulSection(consul.url),
      pools: { blue: pool('vllm-blue'), green: pool('vllm-green') },
      routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: 70, green: 30 }, sticky: { header: HEADER } }],
    };
    const [d1, d2] = await Promise.all([daemon(t, config), daemon(t, config)]);
    for (const d of [d1, d2]) {
      await scraped(d, 'blue', ['blue-0@dc1', 'blue-1@dc1', 'blue-2@dc1'], 5000, waitForModels);
      await scraped(d, 'green', ['green-0@dc1', 'green-1@dc1', 'green-2@dc1'], 5000, waitForModels);
    }

    // Each process gets every key once, one request at a time; the two run side by side.
    const [p1, p2] = await Promise.all([keyedPass(d1.url, KEYS, HEADER), keyedPass(d2.url, KEYS, HEADER)]);
    t.same([p1.failures, p2.failures], [[], []], `all ${2 * N} requests answered 200`);

    const sideDiff = KEYS.filter((k) => side(p1.seen.get(k)) !== side(p2.seen.get(k)));
    const backendDiff = KEYS.filter((k) => p1.seen.get(k) !== p2.seen.get(k));
    t.equal(sideDiff.length, 0, `same split side for ${N - sideDiff.length} of ${N} keys`);
    t.equal(backendDiff.length, 0, `same backend for ${N - backendDiff.length} of ${N} keys`);

    // The agreement means something only if the keys really spread.
    const blueShare = KEYS.filter((k) => side(p1.seen.get(k)) === 'blue').length / N;
    t.ok(blueShare > 0.65 && blueShare < 0.75, `blue side gets ${(blueShare * 100).toFixed(1)} % of the keys (weight 70 %)`);
    const used = new Set(p1.seen.values());
    t.equal(used.size, 6, 'the keys spread over all six backends');
  });
}
