// Header rewriting: hop-by-hop stripped (including fields named in Connection), forwarding
// headers appended/set, request ids passed through or generated and returned, Host
// rewritten, and the upstream chosen only from config (never Host or an absolute URI).
import t from 'tap';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call, rawExchange } from '../../support/http';

t.test('headers between client and backend', async (t) => {
  const backend = await startBackend();
  const other = await startBackend();
  const d = await startDaemon({
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
    await other.close();
  });

  t.test('hop-by-hop fields are stripped, end-to-end fields kept', async (t) => {
    // A raw request: clients such as undici refuse to send some of these fields at all.
    const r = await rawExchange(
      d.port,
      'GET /v1/x HTTP/1.1\r\nHost: a\r\nConnection: close, x-drop-me\r\nKeep-Alive: timeout=5\r\nX-Drop-Me: secret\r\n' +
        'TE: trailers\r\nProxy-Authorization: Basic abc\r\nUpgrade: h2c\r\nX-Keep-Me: yes\r\nAuthorization: Bearer client-key\r\n\r\n',
    );
    t.match(r.response, /^HTTP\/1\.1 200/);
    const seen = backend.requests.at(-1)!.headers;
    for (const h of ['keep-alive', 'x-drop-me', 'te', 'proxy-authorization', 'upgrade']) t.notOk(h in seen, `${h} stripped`);
    t.not(seen.connection, 'close, x-drop-me', 'the client\'s Connection is not relayed');
    t.equal(seen['x-keep-me'], 'yes');
    t.equal(seen.authorization, 'Bearer client-key');
  });

  t.test('X-Forwarded-* appended and set; Host rewritten', async (t) => {
    await call(`${d.url}/v1/x`, {
      headers: { host: 'api.example.com', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
    });
    const seen = backend.requests.at(-1)!.headers;
    t.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1', 'peer appended to the existing chain');
    t.equal(seen['x-forwarded-proto'], 'http', 'set from the connection, not the client');
    t.equal(seen['x-forwarded-host'], 'api.example.com', 'the Host the client asked for');
    t.equal(seen.host, `127.0.0.1:${backend.port}`, 'Host rewritten for the backend');
  });

  t.test('x-request-id passed through, or generated, and returned', async (t) => {
    const given = await call(`${d.url}/v1/x`, { headers: { 'x-request-id': 'req-abc-123' } });
    t.equal(given.headers['x-request-id'], 'req-abc-123');
    t.equal(backend.requests.at(-1)!.headers['x-request-id'], 'req-abc-123');
    const fresh = await call(`${d.url}/v1/x`);
    const id = fresh.headers['x-request-id'] as string;
    t.match(id, /^[0-9a-f]{12}-[0-9a-z]+$/);
    t.equal(backend.requests.at(-1)!.headers['x-request-id'], id, 'the generated id is sent upstream too');
    const bad = await call(`${d.url}/v1/x`, { headers: { 'x-request-id': 'has spaces in it' } });
    t.not(bad.headers['x-request-id'], 'has spaces in it', 'an unsafe id is replaced');
  });

  t.test('the upstream never comes from Host or an absolute-form target', async (t) => {
    const before = other.requests.length;
    const res = await rawExchange(
      d.port,
      `GET http://127.0.0.1:${other.port}/v1/abs HTTP/1.1\r\nHost: 127.0.0.1:${other.port}\r\nConnection: close\r\n\r\n`,
    );
    t.match(res.response, /^HTTP\/1\.1 200/);
    t.equal(other.requests.length, before, 'the host named by the request got nothing');
    t.equal(backend.requests.at(-1)!.url, '/v1/abs', 'the configured backend got the path only');
  });

  t.test('hop-by-hop response fields are not relayed', async (t) => {
    backend.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'keep-alive': 'timeout=99', 'x-upstream': '1', 'x-request-id': 'spoofed' });
      res.end('ok');
    });
    const r = await call(`${d.url}/v1/x`, { headers: { 'x-request-id': 'mine' } });
    t.equal(r.headers['x-upstream'], '1');
    t.not(r.headers['keep-alive'], 'timeout=99');
    t.equal(r.headers['x-request-id'], 'mine', 'our id, not the backend\'s');
  });
});
