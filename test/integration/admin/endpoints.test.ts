// What the admin API reports: /healthz, /status (version, config path and hash, uptime,
// pools with each backend's state, in-flight count and weight), /routes (routes and weight
// tables in force), /metrics (every metric name of the contract, with the samples traffic
// produces), and its 404s.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startBackend, type Handler } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call, freePort } from '../../support/http';
import { repoRoot } from '../../support/paths';
import { WeightTable } from '../../../lib/routing/split';
import { admin, metricsText, quietPool, sample } from '../routing/support';

/** A session key the 90/10 sticky split of the `chat` route sends to blue. */
const BLUE_KEY = (() => {
  const table = new WeightTable([
    { name: 'blue', weight: 90, target: 'blue' },
    { name: 'green', weight: 10, target: 'green' },
  ]);
  for (let i = 0; ; i++) if (table.pickSticky(`k-${i}`).name === 'blue') return `k-${i}`;
})();

const CONTRACT_METRICS: [string, string][] = [
  ['switchyard_requests_total', 'counter'],
  ['switchyard_request_duration_seconds', 'histogram'],
  ['switchyard_time_to_first_byte_seconds', 'histogram'],
  ['switchyard_inflight_requests', 'gauge'],
  ['switchyard_upstream_errors_total', 'counter'],
  ['switchyard_backend_up', 'gauge'],
  ['switchyard_breaker_state', 'gauge'],
  ['switchyard_retries_total', 'counter'],
  ['switchyard_shed_total', 'counter'],
  ['switchyard_config_reloads_total', 'counter'],
  ['switchyard_config_info', 'gauge'],
];

const fails: Handler = (_req, res) => {
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end('{"error":"boom"}');
};

t.test('admin endpoints', async (t) => {
  const blue = await startBackend();
  blue.hold();
  const green = await startBackend();
  const broken = await startBackend(fails);
  const dead = await freePort();
  const d = await startDaemon({
    pools: {
      blue: quietPool([{ url: blue.url, weight: 3, meta: { zone: 'a' } }]),
      green: quietPool([green.url]),
      broken: quietPool([broken.url], { retries: { max: 0 } }),
      flaky: quietPool([`http://127.0.0.1:${dead}`, green.url]),
    },
    routes: [
      { name: 'chat', match: { model: ['llama3', 'llama-3-8b'], path_prefix: '/v1/' }, split: { blue: 90, green: 10 }, sticky: { header: 'x-session-id' } },
      { name: 'broken', match: { path_prefix: '/broken/' }, pool: 'broken' },
      { name: 'flaky', match: { path_prefix: '/flaky/' }, pool: 'flaky', priority: 'critical' },
      { name: 'alias', match: { model: 'small' }, pool: 'green', rewrite_model: 'llama-3-8b' },
    ],
  });
  t.teardown(async () => {
    await d.stop('SIGKILL');
    await Promise.all([blue.close(), green.close(), broken.close()]);
  });
  const blueId = `127.0.0.1:${blue.port}`;
  const greenId = `127.0.0.1:${green.port}`;
  const deadId = `127.0.0.1:${dead}`;

  t.test('/healthz', async (t) => {
    const r = await admin(d, '/healthz');
    t.equal(r.status, 200, '200 while serving');
    t.same(r.json(), { status: 'ok' }, 'status ok');
  });

  t.test('/status', async (t) => {
    const version = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).version;
    const s = (await admin(d, '/status')).json();
    t.equal(s.version, version, 'the package version');
    t.equal(s.config.path, d.configPath, 'the config path');
    t.match(s.config.hash, /^[0-9a-f]{12}$/, 'the config hash');
    t.type(s.uptime_s, 'number', 'uptime');
    t.ok(s.uptime_s >= 0 && s.uptime_s < 600, `uptime ${s.uptime_s} s`);
    t.same(Object.keys(s.pools).sort(), ['blue', 'broken', 'flaky', 'green'], 'every pool');
    t.match(s.pools.blue, {
      strategy: 'round-robin',
      inflight: 0,
      backends: [{ id: blueId, url: blue.url, state: 'healthy', healthy: true, draining: false, breaker: 'closed', inflight: 0, weight: 3, meta: { zone: 'a' } }],
    }, 'a pool: strategy, in-flight count, backends with state, breaker, in-flight count and weight');
    t.same(s.pools.flaky.backends.map((b: { id: string }) => b.id), [deadId, greenId], 'backends by id, in config order');
  });

  t.test('/status and /metrics show a request in flight', async (t) => {
    const pending = request(`${d.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': BLUE_KEY },
      body: '{"model":"llama3"}',
    });
    const held = await Promise.race([blue.nextHeld(), pending.then(() => undefined)]);
    if (!held) {
      t.fail('the request did not reach blue');
      return;
    }
    const s = (await admin(d, '/status')).json();
    t.equal(s.pools.blue.inflight, 1, 'pool in-flight count');
    t.equal(s.pools.blue.backends[0].inflight, 1, 'backend in-flight count');
    t.equal(sample(await metricsText(d), 'switchyard_inflight_requests', { pool: 'blue', backend: blueId }), 1, 'switchyard_inflight_requests');
    held.res.writeHead(200, { 'content-type': 'application/json' });
    held.res.end('{}');
    const r = await pending;
    await r.body.text();
    t.equal(r.statusCode, 200, 'the held request completes');
    t.equal((await admin(d, '/status')).json().pools.blue.inflight, 0, 'back to 0 when it is done');
  });

  t.test('/routes', async (t) => {
    const routes = (await admin(d, '/routes')).json();
    const status = (await admin(d, '/status')).json();
    t.equal(routes.hash, status.config.hash, 'the hash of the config in force');
    t.match(routes.created_at, /^\d{4}-\d\d-\d\dT/, 'when the table was built');
    t.match(routes.routes, [
      {
        name: 'chat',
        match: { model: ['llama3', 'llama-3-8b'], path_prefix: '/v1/' },
        split: { blue: 90, green: 10 },
        sticky: { header: 'x-session-id' },
        priority: 'standard',
      },
      { name: 'broken', match: { path_prefix: '/broken/' }, split: { broken: 1 } },
      { name: 'flaky', split: { flaky: 1 }, priority: 'critical' },
      { name: 'alias', match: { model: ['small'] }, split: { green: 1 }, rewrite_model: 'llama-3-8b' },
    ], 'routes with match, split, sticky, rewrite_model and priority');
    t.equal(routes.routes.length, 4, 'four routes, in config order');
  });

  t.test('/metrics: every contract name, and the samples traffic makes', async (t) => {
    // Traffic: a success through each side, an upstream 500, a retry past a dead backend.
    const hold = blue.nextHeld().then(({ res }) => res.end('{}'));
    const ok = await call(`${d.url}/v1/chat/completions`, { body: '{"model":"llama3"}', headers: { 'content-type': 'application/json', 'x-session-id': BLUE_KEY } });
    await hold;
    t.equal(ok.status, 200, 'a success through blue');
    const bad = await call(`${d.url}/broken/x`);
    t.equal(bad.status, 500, 'an upstream 500 is passed through');
    for (let i = 0; i < 2; i++) {
      const r = await call(`${d.url}/flaky/x`);
      t.equal(r.status, 200, 'the dead backend is retried past');
    }

    const r = await admin(d, '/metrics');
    t.equal(r.status, 200, '/metrics answers');
    t.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/, 'Prometheus text format');
    const text = r.text;
    for (const [name, type] of CONTRACT_METRICS) t.match(text, `# TYPE ${name} ${type}\n`, `${name} (${type})`);

    t.ok((sample(text, 'switchyard_requests_total', { route: 'chat', pool: 'blue', backend: blueId, code: '200' }) ?? 0) >= 1, 'requests_total{route,pool,backend,code}');
    t.equal(sample(text, 'switchyard_requests_total', { route: 'broken', pool: 'broken', code: '500' }), 1, 'the 500 is counted with its code');
    t.ok((sample(text, 'switchyard_request_duration_seconds_count', { route: 'chat', pool: 'blue' }) ?? 0) >= 1, 'request_duration_seconds{route,pool}');
    t.ok(sample(text, 'switchyard_request_duration_seconds_bucket', { route: 'chat', pool: 'blue', le: '+Inf' }) !== undefined, 'with buckets');
    t.ok((sample(text, 'switchyard_time_to_first_byte_seconds_count', { route: 'chat', pool: 'blue' }) ?? 0) >= 1, 'time_to_first_byte_seconds{route,pool}');
    t.equal(sample(text, 'switchyard_upstream_errors_total', { pool: 'broken', kind: 'status_5xx' }), 1, 'upstream_errors_total{kind=status_5xx}');
    t.ok((sample(text, 'switchyard_upstream_errors_total', { pool: 'flaky', backend: deadId, kind: 'connect' }) ?? 0) >= 1, 'upstream_errors_total{kind=connect}');
    t.ok((sample(text, 'switchyard_retries_total', { pool: 'flaky' }) ?? 0) >= 1, 'retries_total{pool}');
    t.equal(sample(text, 'switchyard_inflight_requests', { pool: 'blue', backend: blueId }), 0, 'inflight_requests{pool,backend}');
    t.equal(sample(text, 'switchyard_backend_up', { pool: 'green', backend: greenId }), 1, 'backend_up{pool,backend}');
    t.equal(sample(text, 'switchyard_breaker_state', { pool: 'green', backend: greenId }), 0, 'breaker_state{pool,backend} closed = 0');
    const hash = (await admin(d, '/status')).json().config.hash;
    t.equal(sample(text, 'switchyard_config_info', { hash }), 1, 'config_info{hash}');
  });

  t.test('404s', async (t) => {
    const none = await admin(d, '/nope');
    t.equal(none.status, 404, 'unknown endpoint: 404');
    t.match(none.json(), { error: { code: 'no_route' } }, 'OpenAI-style error');
    const badBackend = await admin(d, '/pools/blue/backends/127.0.0.1:1/drain', { method: 'POST' });
    t.equal(badBackend.status, 404, 'drain of an unknown backend');
    const badPool = await admin(d, `/pools/nope/backends/${blueId}/drain`, { method: 'POST' });
    t.equal(badPool.status, 404, 'drain in an unknown pool');
    t.match((await admin(d, '/status')).json().pools.blue.backends, [{ draining: false }], 'nothing was drained');
  });
});
