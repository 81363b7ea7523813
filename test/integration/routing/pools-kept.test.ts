// A reload keeps the pools whose definition did not change, with their connections and
// their state: a backend drained through the admin API stays drained after an unrelated
// route edit, and its upstreams see no new connection. A pool whose definition changed is
// built afresh (its upstream sees a new connection): the control that shows the counts can move.
import t from 'tap';
import { startBackend, type Handler, type TestBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { admin, isReloaded, nextLog, quietPool } from './support';

const named =
  (name: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
    res.end('{}');
  };

async function keepAliveBackend(name: string): Promise<TestBackend> {
  const b = await startBackend(named(name));
  // Long keep-alive, so an idle connection cannot close on its own while the test runs.
  b.server.keepAliveTimeout = 120_000;
  return b;
}

t.test('unchanged pools keep connections and drain state across a reload', async (t) => {
  const a = await keepAliveBackend('a');
  const b = await keepAliveBackend('b');
  const c = await keepAliveBackend('c');
  const config = (routes: object[], qIdle = '60s') => ({
    log: { access: false },
    pools: { p: quietPool([a.url, b.url]), q: quietPool([c.url], { timeouts: { idle: qIdle } }) },
    routes,
  });
  const baseRoutes = [
    { name: 'chat', match: { path_prefix: '/v1/' }, pool: 'p' },
    { name: 'other', match: { path_prefix: '/q/' }, pool: 'q' },
  ];
  const d = await startDaemon(config(baseRoutes));
  const dispatcher = agent();
  t.teardown(async () => {
    await closeAgents();
    await d.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  /** `n` requests one after another; who served each. */
  const send = async (path: string, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await call(`${d.url}${path}`, { dispatcher });
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
      out.push(String(r.headers['x-served-by']));
    }
    return out;
  };
  const backendStatus = async (pool: string, port: number) =>
    (await admin(d, '/status')).json().pools[pool].backends.find((x: { id: string }) => x.id === `127.0.0.1:${port}`);

  t.same((await send('/v1/x', 10)).sort(), [...Array(5).fill('a'), ...Array(5).fill('b')], 'round-robin over a and b');
  await send('/q/x', 3);
  t.same([a.connections(), b.connections(), c.connections()], [1, 1, 1], 'one connection to each upstream so far');

  const drained = await admin(d, `/pools/p/backends/127.0.0.1:${a.port}/drain`, { method: 'POST' });
  t.equal(drained.status, 200, 'drain accepted');
  t.same(drained.json(), { pool: 'p', backend: `127.0.0.1:${a.port}`, draining: true }, 'the answer names the drained backend');
  t.same(await send('/v1/x', 6), Array(6).fill('b'), 'while a is drained, b takes everything');

  const reloaded = nextLog(d, isReloaded);
  d.writeConfig(config([{ name: 'embeddings', match: { path_prefix: '/v1/embeddings' }, pool: 'q' }, ...baseRoutes], '59s'));
  await reloaded;
  t.same(
    (await admin(d, '/routes')).json().routes.map((r: { name: string }) => r.name),
    ['embeddings', 'chat', 'other'],
    'the route edit is in force',
  );

  t.match(await backendStatus('p', a.port), { state: 'draining', draining: true }, '/status: a is still draining after the reload');
  t.match(await backendStatus('p', b.port), { state: 'healthy', draining: false }, '/status: b is healthy');
  t.same(await send('/v1/x', 6), Array(6).fill('b'), 'and gets no traffic');
  t.equal(b.connections(), 1, 'b: the kept pool reuses its connection, no new one');
  t.equal(a.connections(), 1, 'a: no new connection');

  await send('/q/x', 3);
  t.equal(c.connections(), 2, 'control: q was redefined, so its upstream sees a new connection');

  const undrained = await admin(d, `/pools/p/backends/127.0.0.1:${a.port}/undrain`, { method: 'POST' });
  t.same(undrained.json(), { pool: 'p', backend: `127.0.0.1:${a.port}`, draining: false }, 'undrain accepted');
  t.same((await send('/v1/x', 6)).sort(), [...Array(3).fill('a'), ...Array(3).fill('b')], 'a takes traffic again');
  t.equal(a.connections(), 1, 'a: over the connection it had before the reload');
  t.equal(b.connections(), 1, 'b: still its first connection');
});
