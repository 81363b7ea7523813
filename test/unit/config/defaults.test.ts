// What a minimal config turns into: the defaults every other module relies on, with
// durations in milliseconds and sizes in bytes.
import t from 'tap';
import { parseConfigText } from '../../../lib/config/load';
import type { Config } from '../../../lib/config/schema';

function load(yaml: string): Config {
  const result = parseConfigText(yaml);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('; '));
  return result.config;
}

const POOL_DEFAULTS = {
  strategy: 'least-request',
  timeouts: { connect: 2000, first_byte: 120_000, idle: 60_000, total: 0 },
  health: { enabled: true, path: '/health', interval: 5000, timeout: 2000, healthy_threshold: 2, unhealthy_threshold: 3, jitter: 0.1 },
  outlier: {
    enabled: true,
    consecutive_5xx: 5,
    consecutive_gateway_failure: 5,
    consecutive_local_origin_failure: 5,
    base_ejection_time: 30_000,
    max_ejection_time: 300_000,
    max_ejection_percent: 10,
    panic_threshold: 50,
  },
  breaker: { max_requests_per_backend: 256, max_requests: 4096, half_open_probes: 1 },
  retries: {
    max: 2,
    on: ['connect-failure', 'reset', 'timeout', 502, 503, 504, 429],
    backoff_base: 25,
    backoff_max: 250,
    budget_percent: 20,
    budget_min: 3,
  },
  queue: { max: 1024, timeout: 30_000 },
  slow_start: { window: 30_000, min_weight_percent: 10 },
  scrape: { enabled: true, path: '/metrics', models_path: '/v1/models', interval: 1000, timeout: 500, stale_after: 3000 },
  session: { header: 'x-session-id', body: 'user', load_factor: 2 },
  cold_start: { hold_timeout: 120_000, prewarm: [] },
};

t.test('top-level sections default when absent', async (t) => {
  const config = load('pools:\n  a:\n    backends: [http://127.0.0.1:8001]\n');
  t.strictSame(config.listen, { host: '0.0.0.0', port: 8080 });
  t.strictSame(config.admin, { enabled: true, host: '127.0.0.1', port: 9901 });
  t.strictSame(config.log, { level: 'info', access: true });
  t.strictSame(config.limits, {
    max_header_size: 16 * 1024,
    max_body_size: 64 * 1024 ** 2,
    inspect_body_size: 1024 ** 2,
    headers_timeout: 10_000,
    request_timeout: 300_000,
    keep_alive_timeout: 5000,
    max_connections: 10_000,
  });
  t.strictSame(config.shutdown, { drain_timeout: 30_000 });
  t.strictSame(config.explain, { keep: 0, header: false });
  t.equal(config.consul, undefined, 'consul stays off unless configured');
  t.strictSame(config.routes, []);
});

t.test('a static pool gets every per-pool default', async (t) => {
  const config = load('pools:\n  a:\n    backends: [http://127.0.0.1:8001, { url: http://127.0.0.1:8002 }]\n');
  t.strictSame(config.pools.a, {
    backends: ['http://127.0.0.1:8001', { url: 'http://127.0.0.1:8002', weight: 1, meta: {} }],
    ...POOL_DEFAULTS,
  });
});

t.test('a consul pool and the consul section get their defaults', async (t) => {
  const config = load('consul: {}\npools:\n  a:\n    consul: { service: vllm }\n');
  t.strictSame(config.consul, {
    wait: 300_000,
    min_interval: 15_000,
    burst: 2,
    empty_grace: 30_000,
    kv: { enabled: false, prefix: 'switchyard/' },
    register: { enabled: false, service: 'switchyard', address: '127.0.0.1', check_interval: 10_000 },
  });
  t.strictSame(config.pools.a, { consul: { service: 'vllm', tags: [], min_healthy: 1 }, ...POOL_DEFAULTS });
});

t.test('a route gets an empty match and standard priority', async (t) => {
  const config = load('pools:\n  a:\n    backends: [http://127.0.0.1:8001]\nroutes:\n  - { name: r, pool: a }\n');
  t.strictSame(config.routes, [{ name: 'r', match: {}, pool: 'a', priority: 'standard' }]);
});

t.test('a partly written section keeps the defaults of the keys it leaves out', async (t) => {
  const config = load('listen: { port: 9000 }\npools:\n  a:\n    backends: [http://127.0.0.1:8001]\n    timeouts: { total: 10m }\n');
  t.strictSame(config.listen, { host: '0.0.0.0', port: 9000 });
  t.strictSame(config.pools.a!.timeouts, { ...POOL_DEFAULTS.timeouts, total: 600_000 });
});

t.test('header names that key sessions, sticky routes and rate limits are lower-cased (HTTP names are case-insensitive)', async (t) => {
  const config = load(
    [
      'pools:',
      '  a:',
      '    backends: [http://127.0.0.1:8001]',
      '    session: { header: X-Session-ID }',
      'routes:',
      '  - name: r',
      '    pool: a',
      '    sticky: { header: X-Conversation }',
      '    rate_limit: { key_header: X-Api-Key, requests_per_minute: 10 }',
    ].join('\n'),
  );
  t.equal(config.pools.a!.session.header, 'x-session-id');
  t.equal(config.routes[0]!.sticky!.header, 'x-conversation');
  t.equal(config.routes[0]!.rate_limit!.key_header, 'x-api-key');
});
