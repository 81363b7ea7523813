// The route table: routes compiled from config against the pools of the same generation.
// A table is built aside (on start and on every reload) and swapped in whole; a request
// takes the current table once when it starts and keeps it to the end, so a stream begun
// under the old weights finishes there (fabio's route/table.go model).
import type { Config, Priority, RouteConfig } from '../config/schema';
import type { PoolRuntime } from './pool';
import { WeightTable } from './split';
import { RateLimiter } from '../health/rate-limit';

export interface CompiledRoute {
  readonly name: string;
  readonly priority: Priority;
  readonly rewriteModel?: string;
  readonly sticky?: RouteConfig['sticky'];
  readonly rateLimit?: RouteConfig['rate_limit'];
  /** Per-key buckets; carried over from the previous table while the limit is unchanged. */
  readonly limiter?: RateLimiter;
  readonly models?: ReadonlySet<string>;
  readonly pathPrefix?: string;
  /** [lower-case name, exact value] pairs that must all be present. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly split: WeightTable<PoolRuntime>;
  /** The pools this route can send to, for /routes. */
  readonly pools: readonly string[];
}

/** Strategies whose scheduler reads the prompt or the `user` field of the body. */
const BODY_STRATEGIES = new Set(['session-affinity', 'prefix-affinity']);

export class RouteTable {
  readonly routes: readonly CompiledRoute[];
  /** Models named by any route, for GET /v1/models and 404 messages. */
  readonly models: readonly string[];
  /** Whether requests must have their JSON body inspected before routing. */
  readonly inspectBody: boolean;
  readonly hash: string;
  readonly createdAt = Date.now();

  constructor(config: Config, pools: ReadonlyMap<string, PoolRuntime>, hash: string, previous?: RouteTable) {
    this.hash = hash;
    this.routes = config.routes.map((r) => compile(r, pools, previous));
    const models = new Set<string>();
    for (const r of this.routes) for (const m of r.models ?? []) models.add(m);
    this.models = [...models];
    this.inspectBody =
      this.routes.some((r) => r.models || r.sticky?.body || r.rewriteModel || r.rateLimit?.tokens_per_minute) ||
      Object.values(config.pools).some((p) => BODY_STRATEGIES.has(p.strategy) || p.scheduler !== undefined);
  }

  /** First route whose path prefix, headers and model all match. */
  match(path: string, headers: Record<string, string | string[] | undefined>, model: string | undefined): CompiledRoute | undefined {
    for (const r of this.routes) {
      if (r.pathPrefix !== undefined && !path.startsWith(r.pathPrefix)) continue;
      if (r.models && (model === undefined || !r.models.has(model))) continue;
      if (r.headers && !r.headers.every(([n, v]) => headers[n] === v)) continue;
      return r;
    }
    return undefined;
  }

  /** Whether any route could match this path if the model were right (for 404 wording). */
  servesPath(path: string): boolean {
    return this.routes.some((r) => r.pathPrefix === undefined || path.startsWith(r.pathPrefix));
  }

  describe() {
    return {
      hash: this.hash,
      created_at: new Date(this.createdAt).toISOString(),
      routes: this.routes.map((r) => ({
        name: r.name,
        match: {
          model: r.models ? [...r.models] : undefined,
          path_prefix: r.pathPrefix,
          headers: r.headers ? Object.fromEntries(r.headers) : undefined,
        },
        split: Object.fromEntries(r.split.sides.map((s) => [s.name, s.weight])),
        sticky: r.sticky,
        rewrite_model: r.rewriteModel,
        priority: r.priority,
      })),
    };
  }
}

function compile(r: RouteConfig, pools: ReadonlyMap<string, PoolRuntime>, previous: RouteTable | undefined): CompiledRoute {
  const weights: Record<string, number> = r.split ?? { [r.pool!]: 1 };
  const sides = Object.keys(weights)
    .sort()
    .map((name) => ({ name, weight: weights[name]!, target: pools.get(name)! }));
  const models = r.match.model === undefined ? undefined : new Set(Array.isArray(r.match.model) ? r.match.model : [r.match.model]);
  const headers = r.match.headers ? Object.entries(r.match.headers).map(([n, v]) => [n.toLowerCase(), v] as const) : undefined;
  return {
    name: r.name,
    priority: r.priority,
    rewriteModel: r.rewrite_model,
    sticky: r.sticky,
    rateLimit: r.rate_limit,
    limiter: r.rate_limit ? carriedLimiter(r, previous) : undefined,
    models,
    pathPrefix: r.match.path_prefix,
    headers,
    split: new WeightTable(sides),
    pools: sides.map((s) => s.name),
  };
}

function carriedLimiter(r: RouteConfig, previous: RouteTable | undefined): RateLimiter {
  const old = previous?.routes.find((p) => p.name === r.name);
  if (old?.limiter && JSON.stringify(old.rateLimit) === JSON.stringify(r.rate_limit)) return old.limiter;
  return new RateLimiter(r.rate_limit!);
}
