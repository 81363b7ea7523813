// The configuration schema: the one place that says which keys exist, their types and
// their defaults. `config.example.yaml` documents the same keys for operators; the
// unit test test/unit/config/example.test.ts keeps the two in step.
//
// Durations and sizes are written as strings ("250ms", "16KiB") and come out of the
// schema as numbers (milliseconds, bytes). Unknown keys are errors everywhere.
import { z } from 'zod';
import { parseDuration, parseSize } from './units';

const duration = (def: string) =>
  z
    .string({ error: 'expected a duration such as "250ms", "2s" or "5m"' })
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${s}" (use e.g. 250ms, 2s, 5m, 1h; 0s for none)` });
        return z.NEVER;
      }
      return ms;
    })
    .prefault(def);

const size = (def: string) =>
  z
    .string({ error: 'expected a size such as "16KiB" or "8MiB"' })
    .transform((s, ctx) => {
      const bytes = parseSize(s);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid size "${s}" (use e.g. 512B, 16KiB, 8MiB, 1GiB)` });
        return z.NEVER;
      }
      return bytes;
    })
    .prefault(def);

const port = z.number().int().min(0).max(65535);
const percent = z.number().min(0).max(100);
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'names use letters, digits, "-", "_" and "." only');

export const STRATEGIES = [
  'round-robin',
  'random',
  'least-request',
  'least-queue',
  'kv-aware',
  'gpu-aware',
  'session-affinity',
  'prefix-affinity',
] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const PRIORITIES = ['critical', 'standard', 'sheddable'] as const;
export type Priority = (typeof PRIORITIES)[number];

const listenSchema = z
  .strictObject({ host: z.string().default('0.0.0.0'), port: port.default(8080) })
  .prefault({});

const adminSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1'),
    port: port.default(9901),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    access: z.boolean().default(true),
  })
  .prefault({});

const limitsSchema = z
  .strictObject({
    max_header_size: size('16KiB'),
    max_body_size: size('64MiB'),
    /** How much of a JSON body the proxy reads to find `model`, `user` and the prompt. */
    inspect_body_size: size('1MiB'),
    headers_timeout: duration('10s'),
    request_timeout: duration('300s'),
    keep_alive_timeout: duration('5s'),
    max_connections: z.number().int().min(1).default(10000),
  })
  .prefault({});

const shutdownSchema = z.strictObject({ drain_timeout: duration('30s') }).prefault({});

const consulSchema = z.strictObject({
  address: z.string().optional(),
  datacenter: z.string().optional(),
  ca_file: z.string().optional(),
  /** Blocking-query wait; the client timeout is wait·17/16 plus a margin. */
  wait: duration('5m'),
  /** Token bucket on re-queries per watch (Consul's blocking.mdx advice: burst 2, ~15s). */
  min_interval: duration('15s'),
  burst: z.number().int().min(1).default(2),
  /** Keep the last non-empty set this long when a healthy answer turns up empty. */
  empty_grace: duration('30s'),
  kv: z
    .strictObject({ enabled: z.boolean().default(false), prefix: z.string().default('switchyard/') })
    .prefault({}),
  register: z
    .strictObject({
      enabled: z.boolean().default(false),
      service: z.string().default('switchyard'),
      address: z.string().default('127.0.0.1'),
      check_interval: duration('10s'),
    })
    .prefault({}),
});

const backendEntry = z.union([
  z.string().url({ error: 'backend must be an http:// URL' }),
  z.strictObject({
    url: z.string().url({ error: 'backend must be an http:// URL' }),
    id: z.string().optional(),
    weight: z.number().min(0).default(1),
    meta: z.record(z.string(), z.string()).default({}),
  }),
]);

const poolConsulSchema = z
  .strictObject({
    service: z.string().min(1),
    tags: z.array(z.string()).default([]),
    datacenters: z.array(z.string()).min(1).optional(),
    nearest: z.number().int().min(1).optional(),
    /** A datacenter serves while it has at least this many passing instances. */
    min_healthy: z.number().int().min(1).default(1),
  })
  .refine((c) => !(c.datacenters && c.nearest), { message: 'use either datacenters or nearest, not both' });

const pluginRef = z.union([
  z.string(),
  z.strictObject({ name: z.string(), weight: z.number().min(0).default(1), params: z.record(z.string(), z.unknown()).default({}) }),
]);

const schedulerSchema = z.strictObject({
  filters: z.array(pluginRef).default([]),
  scorers: z.array(pluginRef).default([]),
  picker: pluginRef.default('max-score'),
});

const timeoutsSchema = z
  .strictObject({
    connect: duration('2s'),
    /** Until the first body byte (the first token of a stream); per try. */
    first_byte: duration('120s'),
    /** Longest gap between two chunks of a response. */
    idle: duration('60s'),
    /** Whole exchange; 0s = none, the right default for streams. */
    total: duration('0s'),
  })
  .prefault({});

const healthSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    path: z.string().default('/health'),
    interval: duration('5s'),
    timeout: duration('2s'),
    healthy_threshold: z.number().int().min(1).default(2),
    unhealthy_threshold: z.number().int().min(1).default(3),
    /** Each interval is spread by ± this fraction so checks of a fleet do not align. */
    jitter: z.number().min(0).max(1).default(0.1),
  })
  .prefault({});

const outlierSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    consecutive_5xx: z.number().int().min(1).default(5),
    consecutive_gateway_failure: z.number().int().min(1).default(5),
    consecutive_local_origin_failure: z.number().int().min(1).default(5),
    base_ejection_time: duration('30s'),
    max_ejection_time: duration('300s'),
    max_ejection_percent: percent.default(10),
    /** Below this share of available backends the pool spreads over all of them. */
    panic_threshold: percent.default(50),
  })
  .prefault({});

const breakerSchema = z
  .strictObject({
    /** Concurrent requests per backend before it counts as saturated. 0 = no limit. */
    max_requests_per_backend: z.number().int().min(0).default(256),
    /** Concurrent requests across the pool; beyond it, fail fast with 503. */
    max_requests: z.number().int().min(1).default(4096),
    /** Requests let through while a backend's breaker is half-open. */
    half_open_probes: z.number().int().min(1).default(1),
  })
  .prefault({});

const retryOn = z.union([z.enum(['connect-failure', 'reset', 'timeout']), z.number().int().min(400).max(599)]);

const retriesSchema = z
  .strictObject({
    max: z.number().int().min(0).default(2),
    on: z.array(retryOn).default(['connect-failure', 'reset', 'timeout', 502, 503, 504, 429]),
    backoff_base: duration('25ms'),
    backoff_max: duration('250ms'),
    budget_percent: percent.default(20),
    budget_min: z.number().int().min(0).default(3),
  })
  .prefault({});

const queueSchema = z
  .strictObject({
    max: z.number().int().min(0).default(1024),
    timeout: duration('30s'),
  })
  .prefault({});

const slowStartSchema = z
  .strictObject({
    window: duration('30s'),
    /** Share of its weight a backend starts with. */
    min_weight_percent: percent.default(10),
  })
  .prefault({});

const scrapeSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    path: z.string().default('/metrics'),
    models_path: z.string().default('/v1/models'),
    interval: duration('1s'),
    timeout: duration('500ms'),
    stale_after: duration('3s'),
  })
  .prefault({});

const sessionSchema = z
  .strictObject({
    header: z.string().toLowerCase().default('x-session-id'),
    cookie: z.string().optional(),
    body: z.enum(['user']).optional().default('user'),
    /**
     * Bounded-load consistent hashing: no backend above (1+ε)× the mean load. Looser than
     * a web balancer's 1.25: moving a turn off its backend costs a re-prefill of the
     * whole conversation (bench:routing chat: 9.6% of turns re-prefilled at 1.25, 0.6% at 2).
     */
    load_factor: z.number().min(1).default(2),
  })
  .prefault({});

const coldStartSchema = z
  .strictObject({
    /** How long a request waits for a backend that is loading its model. */
    hold_timeout: duration('120s'),
    /** Models to keep loaded: a request is sent ahead to load them on backends that lack them. */
    prewarm: z.array(z.string()).default([]),
  })
  .prefault({});

export const poolSchema = z
  .strictObject({
    backends: z.array(backendEntry).optional(),
    consul: poolConsulSchema.optional(),
    strategy: z.enum(STRATEGIES).default('least-request'),
    scheduler: schedulerSchema.optional(),
    timeouts: timeoutsSchema,
    health: healthSchema,
    outlier: outlierSchema,
    breaker: breakerSchema,
    retries: retriesSchema,
    queue: queueSchema,
    slow_start: slowStartSchema,
    scrape: scrapeSchema,
    session: sessionSchema,
    cold_start: coldStartSchema,
  })
  .superRefine((p, ctx) => {
    if (!p.backends && !p.consul) ctx.addIssue({ code: 'custom', message: 'a pool needs `backends` or `consul`' });
    if (p.backends && p.consul) ctx.addIssue({ code: 'custom', message: 'use `backends` or `consul`, not both' });
  });

const stickySchema = z
  .strictObject({
    header: z.string().toLowerCase().optional(),
    cookie: z.string().optional(),
    body: z.enum(['user']).optional(),
  })
  .refine((s) => s.header || s.cookie || s.body, { message: 'sticky needs a header, cookie or body key' });

const rateLimitSchema = z.strictObject({
  /** Header whose value is the key (an API key, a tenant id). */
  key_header: z.string().toLowerCase().default('authorization'),
  requests_per_minute: z.number().int().min(1).optional(),
  tokens_per_minute: z.number().int().min(1).optional(),
});

const routeSchema = z
  .strictObject({
    name: name,
    match: z
      .strictObject({
        model: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
        path_prefix: z.string().startsWith('/').optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .prefault({}),
    pool: z.string().optional(),
    split: z.record(z.string(), z.number({ error: 'a weight is a number' }).min(0, 'a weight cannot be negative')).optional(),
    sticky: stickySchema.optional(),
    rewrite_model: z.string().optional(),
    priority: z.enum(PRIORITIES).default('standard'),
    rate_limit: rateLimitSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (!r.pool && !r.split) ctx.addIssue({ code: 'custom', message: 'a route needs `pool` or `split`' });
    if (r.pool && r.split) ctx.addIssue({ code: 'custom', message: 'use `pool` or `split`, not both' });
    if (r.split) {
      const weights = Object.values(r.split);
      if (weights.length === 0) ctx.addIssue({ code: 'custom', path: ['split'], message: 'split names no pool' });
      else if (weights.every((w) => w === 0)) ctx.addIssue({ code: 'custom', path: ['split'], message: 'split weights are all zero' });
    }
  });

export const configSchema = z.strictObject({
  listen: listenSchema,
  admin: adminSchema,
  log: logSchema,
  limits: limitsSchema,
  shutdown: shutdownSchema,
  consul: consulSchema.optional(),
  explain: z
    .strictObject({
      /**
       * Keep this many recent routing decisions for GET /explain. Off by default: recording
       * costs a few µs per request, and scores per candidate in large pools (reloadable).
       */
      keep: z.number().int().min(0).default(0),
      /** Add `x-switchyard-explain` (the picked backend and its score) to responses. */
      header: z.boolean().default(false),
    })
    .prefault({}),
  pools: z.record(name, poolSchema),
  routes: z.array(routeSchema).default([]),
});

export type Config = z.output<typeof configSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type PoolConsulConfig = z.output<typeof poolConsulSchema>;
export type ConsulConfig = z.output<typeof consulSchema>;
export type TimeoutsConfig = PoolConfig['timeouts'];
export type HealthConfig = PoolConfig['health'];
export type OutlierConfig = PoolConfig['outlier'];
export type BreakerConfig = PoolConfig['breaker'];
export type RetriesConfig = PoolConfig['retries'];
export type QueueConfig = PoolConfig['queue'];
export type SlowStartConfig = PoolConfig['slow_start'];
export type ScrapeConfig = PoolConfig['scrape'];
export type SessionConfig = PoolConfig['session'];
export type SchedulerConfig = z.output<typeof schedulerSchema>;
export type PluginRef = z.output<typeof pluginRef>;
