// Process lifecycle: SIGTERM drains (no new connections; a stream in flight finishes)
// and exits 0; the access log has one JSON line per request with the fields operators use.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call } from '../../support/http';

t.test('SIGTERM drains a stream in flight, then exits 0', async (t) => {
  const backend = await startBackend();
  backend.hold();
  const d = await startDaemon({
    shutdown: { drain_timeout: '20s' },
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop('SIGKILL');
    await backend.close();
  });
  const pending = request(`${d.url}/v1/stream`);
  const held = await backend.nextHeld();
  held.res.writeHead(200, { 'content-type': 'text/event-stream' });
  held.res.write('data: 0\n\n');
  const r = await pending;
  const it = r.body[Symbol.asyncIterator]();
  t.equal((await it.next()).value.toString(), 'data: 0\n\n');

  d.proc.kill('SIGTERM');
  await d.waitForLog((l) => l.msg === 'draining');
  const healthz = await call(`${d.adminUrl}/healthz`).catch((e: Error) => e);
  if (!(healthz instanceof Error)) t.equal(healthz.status, 503, 'healthz says unavailable while draining');
  await t.rejects(call(`${d.url}/v1/new`), 'new connections are refused');

  for (let i = 1; i <= 3; i++) {
    held.res.write(`data: ${i}\n\n`);
    t.equal((await it.next()).value.toString(), `data: ${i}\n\n`, `event ${i} still flows while draining`);
  }
  held.res.end('data: [DONE]\n\n');
  t.equal((await it.next()).value.toString(), 'data: [DONE]\n\n');
  t.ok((await it.next()).done, 'the stream completed normally');
  t.equal(await d.exited, 0, 'exit code 0');
});

t.test('the drain deadline ends what is left', async (t) => {
  const backend = await startBackend();
  backend.hold();
  const d = await startDaemon({
    shutdown: { drain_timeout: '300ms' },
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(() => backend.close());
  const pending = request(`${d.url}/v1/stream`);
  const held = await backend.nextHeld();
  held.res.writeHead(200, { 'content-type': 'text/event-stream' });
  held.res.write('data: 0\n\n');
  const r = await pending;
  const body = (async () => {
    for await (const _ of r.body);
  })();
  d.proc.kill('SIGTERM');
  await t.rejects(body, 'the unfinished stream is cut at the deadline');
  t.equal(await d.exited, 0);
  await d.waitForLog((l) => l.msg === 'drain deadline reached; closing remaining connections');
});

t.test('one access log line per request', async (t) => {
  const backend = await startBackend();
  const d = await startDaemon({
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [{ name: 'r1', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });
  const r = await call(`${d.url}/v1/hello`, { headers: { 'x-request-id': 'log-me-1' } });
  t.equal(r.status, 200);
  const line = await d.waitForLog((l) => l.type === 'access' && l.req_id === 'log-me-1');
  t.match(line, {
    method: 'GET',
    path: '/v1/hello',
    route: 'r1',
    pool: 'p',
    backend: `127.0.0.1:${backend.port}`,
    status: 200,
    outcome: 'ok',
    attempts: 1,
  });
  t.type(line.bytes, 'number');
  t.ok((line.bytes as number) > 0);
  t.type(line.ttfb_ms, 'number');
  t.type(line.duration_ms, 'number');
  t.equal(d.logs.filter((l) => l.type === 'access' && l.req_id === 'log-me-1').length, 1, 'exactly one line');
});
