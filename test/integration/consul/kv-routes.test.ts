// Weight tables from Consul KV: with `consul.kv.enabled`, the YAML under `<prefix>routes`
// replaces the file's routes. A write shifts traffic on the running daemon; a write that
// does not validate is refused and the routes in force keep serving.
import t from 'tap';
import { request } from 'undici';
import type { ConsulTestServer } from '../../support/consul/server';
import type { LogLine } from '../../support/daemon';
import { backends, consulPool, consulSection, daemon, failed, nextLog, register, startConsul, startSims, traffic } from './support';

const KEY = 'switchyard/routes';
const routesYaml = (split: string) => `routes:\n  - name: chat\n    match: { path_prefix: /v1/ }\n    split: ${split}\n`;
const isChanged = (l: LogLine) => l.msg === 'routes changed in Consul KV';
const isReloaded = (l: LogLine) => l.msg === 'config reloaded';
const isRefused = (l: LogLine) => l.msg === 'config reload refused; the running config stays';

/** A KV write the way an operator (or `consul kv put`) makes it: PUT /v1/kv/<key>. */
async function put(consul: ConsulTestServer, text: string): Promise<void> {
  const r = await request(`${consul.url}/v1/kv/${KEY}`, { method: 'PUT', body: text });
  if ((await r.body.text()).trim() !== 'true') throw new Error(`KV PUT answered ${r.statusCode}`);
}

async function routesInForce(adminUrl: string): Promise<Record<string, number>> {
  const r = await request(`${adminUrl}/routes`);
  const body = (await r.body.json()) as { routes: { name: string; split: Record<string, number> }[] };
  return body.routes.find((x) => x.name === 'chat')!.split;
}

t.test('a routes write in Consul KV shifts traffic; an invalid write is refused and the old routes serve on', async (t) => {
  const consul = await startConsul(t);
  const fleet = await startSims(t, 2);
  const [blue, green] = fleet.instances as [typeof fleet.instances[0], typeof fleet.instances[0]];
  register(consul, blue, 'blue-0', { service: 'vllm-blue' });
  register(consul, green, 'green-0', { service: 'vllm-green' });
  const d = await daemon(t, {
    consul: consulSection(consul.url, { kv: { enabled: true, prefix: 'switchyard/' } }),
    pools: { blue: consulPool({ service: 'vllm-blue' }), green: consulPool({ service: 'vllm-green' }) },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: 100, green: 0 } }],
  });
  await consul.waitForRequest((r) => r.path === `/v1/kv/${KEY}`);
  const tr = traffic(t, d.url, 2, 5);
  await tr.until(() => true, Date.now() + 300, 5000, 'after 300 ms of traffic');
  t.same(backends(tr.log), [blue.id], 'the file says blue 100: only blue serves');

  // Cut over to green.
  let changed = nextLog(d, isChanged);
  let reloaded = nextLog(d, isReloaded);
  const written = Date.now();
  await put(consul, routesYaml('{ blue: 0, green: 100 }'));
  await Promise.all([changed, reloaded]);
  const firstGreen = await tr.until((s) => s.backend === green.id, written, 5000, 'on green');
  t.ok(firstGreen.done - written <= 1000, `green served ${firstGreen.done - written} ms after the KV write`);
  await tr.until(() => true, firstGreen.done + 300, 5000, '300 ms after the cutover');
  t.same(backends(tr.between(firstGreen.done)), [green.id], 'after the cutover only green serves');
  t.same(await routesInForce(d.adminUrl), { blue: 0, green: 100 }, '/routes shows the KV weights');

  // Two writes that must not take effect: broken YAML, and a split naming an unknown pool.
  for (const [what, text, problem] of [
    ['broken YAML', 'routes:\n  - name: chat\n    split: { blue: 50, green: 50\n', /not valid YAML/],
    ['an unknown pool', routesYaml('{ blue: 50, purple: 50 }'), /unknown pool "purple"/],
  ] as const) {
    changed = nextLog(d, isChanged);
    const refused = nextLog(d, isRefused);
    const at = Date.now();
    await put(consul, text);
    await changed;
    const line = await refused;
    t.match((line.problems as string[]).join('\n'), problem, `${what}: refused (${(line.problems as string[])[0]})`);
    await tr.until(() => true, at + 500, 5000, `500 ms after the write of ${what}`);
    t.same(backends(tr.between(at)), [green.id], `${what}: the KV routes in force (green 100) serve on`);
    t.same(await routesInForce(d.adminUrl), { blue: 0, green: 100 }, `${what}: /routes unchanged`);
  }

  // The watch lives on: a valid write after the refusals applies.
  reloaded = nextLog(d, isReloaded);
  const back = Date.now();
  await put(consul, routesYaml('{ blue: 100, green: 0 }'));
  await reloaded;
  const firstBlue = await tr.until((s) => s.backend === blue.id, back, 5000, 'on blue again');
  await tr.until(() => true, firstBlue.done + 300, 5000, '300 ms after the cutback');
  t.same(backends(tr.between(firstBlue.done)), [blue.id], 'a valid write after the refusals cuts traffic back to blue');

  await tr.stop();
  t.same(failed(tr.log), [], `all ${tr.log.length} requests answered 200`);
});
