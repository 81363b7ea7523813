// Per-pool timeouts. Before the first response byte: 504 for connect and first-byte
// timeouts, 502 for refused or reset connections. After it: the idle and total limits cut
// the client's stream abnormally.
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call, freePort } from '../../support/http';

const NO_RETRY = { max: 0 };
const NO_HEALTH = { enabled: false };

t.test('timeouts', async (t) => {
  const backend = await startBackend();
  backend.hold();
  const refused = await freePort();
  const d = await startDaemon({
    pools: {
      fast: { backends: [backend.url], strategy: 'round-robin', retries: NO_RETRY, health: NO_HEALTH, timeouts: { first_byte: '300ms', idle: '300ms' } },
      total: { backends: [backend.url], strategy: 'round-robin', retries: NO_RETRY, health: NO_HEALTH, timeouts: { total: '500ms', idle: '10s' } },
      refused: { backends: [`http://127.0.0.1:${refused}`], strategy: 'round-robin', retries: NO_RETRY, health: NO_HEALTH },
    },
    routes: [
      { name: 'fast', match: { path_prefix: '/fast' }, pool: 'fast' },
      { name: 'total', match: { path_prefix: '/total' }, pool: 'total' },
      { name: 'refused', match: { path_prefix: '/refused' }, pool: 'refused' },
    ],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  t.test('first byte: a backend that never answers gets 504', async (t) => {
    const pending = call(`${d.url}/fast/x`);
    const held = await backend.nextHeld();
    const r = await pending;
    t.equal(r.status, 504);
    t.equal(r.json().error.code, 'upstream_timeout_first_byte');
    t.type(await held.recorded.closed, 'number', 'the upstream request was aborted: the backend saw its connection close');
  });

  t.test('first byte: headers sent but no token either gets 504 (the head was held back)', async (t) => {
    const pending = call(`${d.url}/fast/y`);
    const held = await backend.nextHeld();
    held.res.writeHead(200, { 'content-type': 'text/event-stream' });
    held.res.flushHeaders();
    const r = await pending;
    t.equal(r.status, 504, 'nothing reached the client, so it gets a clean error');
  });

  t.test('idle: a stream that goes quiet is cut, without a made-up end', async (t) => {
    const pending = request(`${d.url}/fast/z`);
    const held = await backend.nextHeld();
    held.res.writeHead(200, { 'content-type': 'text/event-stream' });
    held.res.write('data: 1\n\n');
    const r = await pending;
    t.equal(r.statusCode, 200);
    let got = '';
    await t.rejects(
      (async () => {
        for await (const c of r.body) got += c.toString();
      })(),
      'the client sees an abnormal end',
    );
    t.equal(got, 'data: 1\n\n');
    await held.recorded.closed;
  });

  t.test('total: a long stream is cut at the total limit', async (t) => {
    const pending = request(`${d.url}/total/a`);
    const held = await backend.nextHeld();
    held.res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ticker = setInterval(() => held.res.write('data: tick\n\n'), 50);
    t.teardown(() => clearInterval(ticker));
    const r = await pending;
    t.equal(r.statusCode, 200, 'the stream had started');
    let events = 0;
    await t.rejects(
      (async () => {
        for await (const _ of r.body) events++;
      })(),
      'cut abnormally at the limit',
    );
    t.ok(events > 0, 'events flowed before the cut');
    await held.recorded.closed;
  });

  t.test('refused connection gets 502', async (t) => {
    const r = await call(`${d.url}/refused/x`);
    t.equal(r.status, 502);
    t.equal(r.json().error.code, 'upstream_connect_failed');
  });

  t.test('reset before the response gets 502', async (t) => {
    const pending = call(`${d.url}/fast/reset`);
    const held = await backend.nextHeld();
    held.req.socket.destroy();
    const r = await pending;
    t.equal(r.status, 502);
    t.equal(r.json().error.code, 'upstream_reset');
  });
});

t.test('connect timeout gets 504', async (t) => {
  // A listener whose accept queue is full and whose process is stopped: the kernel drops
  // further SYNs, so a connect can only time out.
  const child = spawn(process.execPath, ['-e', `
    const s = require('net').createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => { process.stdout.write(String(s.address().port) + '\\n'); });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((r) => child.stdout!.once('data', (d) => r(Number(String(d).trim()))));
  child.kill('SIGSTOP');
  const fillers: Socket[] = [];
  t.teardown(() => {
    for (const s of fillers) s.destroy();
    child.kill('SIGKILL');
  });
  // Fill the accept queue (backlog + 1 completed handshakes) with connections never accepted.
  for (let i = 0; i < 4; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => undefined));
  const d = await startDaemon({
    pools: { p: { backends: [`http://127.0.0.1:${port}`], strategy: 'round-robin', retries: NO_RETRY, health: NO_HEALTH, timeouts: { connect: '300ms' } } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(() => d.stop());
  const r = await call(`${d.url}/x`);
  t.equal(r.status, 504);
  t.equal(r.json().error.code, 'upstream_timeout_connect');
});
