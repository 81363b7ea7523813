// Drain and undrain through the admin API: a drained backend gets no new request, while a
// stream it already carries runs to its end; /status and switchyard_backend_up say so;
// undrain brings it back; with every backend of a pool drained, new requests get 503.
import t from 'tap';
import { request } from 'undici';
import type { ServerResponse } from 'node:http';
import { startBackend, type Handler, type TestBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { admin, metricsText, quietPool, sample } from '../routing/support';

/** Answers with its own URL in x-served-by; leaves /v1/stream open for the test. */
const selfNamed =
  (url: () => string): Handler =>
  (req, res) => {
    if (req.url === '/v1/stream') return; // left open: the test writes to it
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': url() });
    res.end('{}');
  };

t.test('drain and undrain', async (t) => {
  const one: TestBackend = await startBackend();
  const two: TestBackend = await startBackend();
  one.setHandler(selfNamed(() => one.url));
  two.setHandler(selfNamed(() => two.url));
  let a = one;
  let b = two;
  const d = await startDaemon({
    log: { access: false },
    pools: { p: quietPool([a.url, b.url]) },
    routes: [{ name: 'r', match: { path_prefix: '/' }, pool: 'p' }],
  });
  const dispatcher = agent();
  t.teardown(async () => {
    await closeAgents();
    await d.stop('SIGKILL');
    await Promise.all([one.close(), two.close()]);
  });
  const servedBy = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await call(`${d.url}/v1/x`, { dispatcher });
      const by = String(r.headers['x-served-by']);
      out.push(r.status !== 200 ? `status ${r.status}` : by === a.url ? 'a' : by === b.url ? 'b' : by);
    }
    return out;
  };
  t.same((await servedBy(4)).sort(), ['a', 'a', 'b', 'b'], 'both backends serve to begin with');

  const stateOf = async (id: string) => (await admin(d, '/status')).json().pools.p.backends.find((x: { id: string }) => x.id === id);
  const upOf = async (id: string) => sample(await metricsText(d), 'switchyard_backend_up', { pool: 'p', backend: id });

  // A stream, open when its backend is drained. Round-robin decides which backend takes
  // it; the test then calls that one `a`.
  const pending = request(`${d.url}/v1/stream`, { method: 'POST', body: '{}', dispatcher });
  const opened = await Promise.race([a, b].map((x) => new Promise<[TestBackend, ServerResponse]>((resolve) => x.server.once('request', (_req, res) => resolve([x, res])))));
  const [onStream, upstream] = opened;
  if (onStream !== a) [a, b] = [b, a];
  const aId = `127.0.0.1:${a.port}`;
  const bId = `127.0.0.1:${b.port}`;
  upstream.writeHead(200, { 'content-type': 'text/event-stream' });
  upstream.write('data: 1\n\n');
  const reply = await pending;
  const it = reply.body[Symbol.asyncIterator]();
  t.equal((await it.next()).value.toString(), 'data: 1\n\n', 'a stream on a is running');

  const r = await admin(d, `/pools/p/backends/${aId}/drain`, { method: 'POST' });
  t.equal(r.status, 200, 'drain: 200');
  t.same(r.json(), { pool: 'p', backend: aId, draining: true }, 'drain answer');
  t.match(await stateOf(aId), { state: 'draining', draining: true, inflight: 1 }, '/status: a draining, its stream still counted');
  t.equal(await upOf(aId), 0, 'switchyard_backend_up 0 for a');
  t.equal(await upOf(bId), 1, 'and 1 for b');
  t.same(await servedBy(6), Array(6).fill('b'), 'new requests all go to b');

  upstream.write('data: 2\n\n');
  t.equal((await it.next()).value.toString(), 'data: 2\n\n', "a's stream keeps flowing while a is drained");
  upstream.end('data: [DONE]\n\n');
  t.equal((await it.next()).value.toString(), 'data: [DONE]\n\n', 'its last event arrives');
  t.ok((await it.next()).done, 'and ends normally');
  t.match(await stateOf(aId), { draining: true, inflight: 0 }, 'a is idle and still drained');

  const again = await admin(d, `/pools/p/backends/${aId}/drain`, { method: 'POST' });
  t.equal(again.status, 200, 'draining twice is harmless');

  const u = await admin(d, `/pools/p/backends/${aId}/undrain`, { method: 'POST' });
  t.equal(u.status, 200, 'undrain: 200');
  t.same(u.json(), { pool: 'p', backend: aId, draining: false }, 'undrain answer');
  t.match(await stateOf(aId), { state: 'healthy', draining: false }, '/status: a healthy');
  t.equal(await upOf(aId), 1, 'switchyard_backend_up 1 for a');
  t.same((await servedBy(6)).sort(), ['a', 'a', 'a', 'b', 'b', 'b'], 'a takes its share again');

  t.test('every backend drained: 503, and back on undrain', async (t) => {
    for (const id of [aId, bId]) t.equal((await admin(d, `/pools/p/backends/${id}/drain`, { method: 'POST' })).status, 200, `drain ${id}`);
    const before = a.requests.length + b.requests.length;
    const r = await call(`${d.url}/v1/x`, { dispatcher });
    t.equal(r.status, 503, 'no backend to send to: 503');
    t.equal(r.headers['content-type'], 'application/json', 'as JSON');
    t.match(r.json(), { error: { code: 'no_backend', type: 'service_unavailable_error', message: /p/ } }, 'OpenAI-style error');
    t.equal(a.requests.length + b.requests.length, before, 'nothing reached a drained backend');
    t.equal((await admin(d, `/pools/p/backends/${bId}/undrain`, { method: 'POST' })).status, 200, 'undrain b');
    t.same(await servedBy(3), ['b', 'b', 'b'], 'b serves again, a stays drained');
  });
});
