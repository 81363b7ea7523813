// Admin API authentication: with SWITCHYARD_ADMIN_TOKEN in the daemon's environment, every
// endpoint but /healthz answers 401 without `Authorization: Bearer <token>` or with a wrong
// one, and a refused mutation changes nothing. Mutations are POST only: a GET gets 405.
import t from 'tap';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call } from '../../support/http';
import { admin, quietPool, unwatchedWriter } from '../routing/support';

const TOKEN = 'tok-3f9a1c7e-switchyard-test';

t.test('with SWITCHYARD_ADMIN_TOKEN set', async (t) => {
  const backend = await startBackend();
  const config = (weight: number) => ({
    pools: { p: quietPool([backend.url]), q: quietPool([backend.url]) },
    routes: [{ name: 'r', match: { path_prefix: '/' }, split: { p: weight, q: 1 } }],
  });
  const d = await startDaemon(config(1), { env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  const unwatched = unwatchedWriter(d);
  t.teardown(async () => {
    unwatched.cleanup();
    await d.stop();
    await backend.close();
  });
  const drainPath = `/pools/p/backends/127.0.0.1:${backend.port}/drain`;
  const endpoints: [string, string][] = [
    ['GET', '/status'],
    ['GET', '/routes'],
    ['GET', '/metrics'],
    ['GET', '/explain'],
    ['POST', '/reload'],
    ['POST', drainPath],
    ['POST', `/pools/p/backends/127.0.0.1:${backend.port}/undrain`],
    ['GET', '/no-such-endpoint'],
  ];
  const wrong: [string, Record<string, string> | undefined][] = [
    ['no Authorization header', undefined],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token with a suffix', { authorization: `Bearer ${TOKEN}x` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['the bare token', { authorization: TOKEN }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ];

  t.test('401 without a valid token, on every endpoint', async (t) => {
    for (const [method, path] of endpoints) {
      for (const [what, headers] of wrong) {
        const r = await call(`${d.adminUrl}${path}`, { method, headers });
        t.equal(r.status, 401, `${method} ${path} with ${what}: 401`);
        if (what === 'no Authorization header') {
          t.equal(r.headers['www-authenticate'], 'Bearer', `${method} ${path}: WWW-Authenticate: Bearer`);
          t.match(r.json(), { error: { code: 'unauthorized', type: String, message: String } }, `${method} ${path}: OpenAI-style error`);
        }
      }
    }
  });

  t.test('the right token opens them', async (t) => {
    for (const [method, path] of [
      ['GET', '/status'],
      ['GET', '/routes'],
      ['GET', '/metrics'],
    ]) {
      const r = await admin(d, path!, { method, token: TOKEN });
      t.equal(r.status, 200, `${method} ${path} with the token: 200`);
    }
    const lower = await call(`${d.adminUrl}/status`, { headers: { authorization: `bearer ${TOKEN}` } });
    t.equal(lower.status, 200, 'the scheme name is case-insensitive');
    const healthz = await call(`${d.adminUrl}/healthz`);
    t.equal(healthz.status, 200, '/healthz needs no token (systemd, Consul checks)');
  });

  t.test('a refused mutation changes nothing', async (t) => {
    unwatched.write(config(5));
    const reload = await call(`${d.adminUrl}/reload`, { method: 'POST', headers: { authorization: 'Bearer wrong' } });
    t.equal(reload.status, 401, 'POST /reload with a wrong token: 401');
    t.same((await admin(d, '/routes', { token: TOKEN })).json().routes[0].split, { p: 1, q: 1 }, 'no reload happened');

    const drain = await call(`${d.adminUrl}${drainPath}`, { method: 'POST' });
    t.equal(drain.status, 401, 'POST drain without a token: 401');
    const backends = (await admin(d, '/status', { token: TOKEN })).json().pools.p.backends;
    t.match(backends, [{ draining: false, state: 'healthy' }], 'the backend was not drained');

    const ok = await admin(d, '/reload', { method: 'POST', token: TOKEN });
    t.equal(ok.status, 200, 'with the token the same reload goes through');
    t.same((await admin(d, '/routes', { token: TOKEN })).json().routes[0].split, { p: 5, q: 1 }, 'and the new weights are in force');
  });

  t.test('405 on GET for a mutation (and on POST for a read)', async (t) => {
    for (const path of ['/reload', drainPath, `/pools/p/backends/127.0.0.1:${backend.port}/undrain`]) {
      const r = await admin(d, path, { method: 'GET', token: TOKEN });
      t.equal(r.status, 405, `GET ${path}: 405`);
      t.equal(r.headers.allow, 'POST', 'Allow: POST');
      t.match(r.json(), { error: { code: 'method_not_allowed' } }, 'OpenAI-style error');
    }
    const put = await admin(d, '/reload', { method: 'PUT', token: TOKEN });
    t.equal(put.status, 405, 'PUT /reload: 405');
    const post = await admin(d, '/status', { method: 'POST', token: TOKEN });
    t.equal(post.status, 405, 'POST /status: 405');
    t.equal(post.headers.allow, 'GET', 'Allow: GET');
    const backends = (await admin(d, '/status', { token: TOKEN })).json().pools.p.backends;
    t.match(backends, [{ draining: false }], 'the GET on drain did not drain');
  });
});
