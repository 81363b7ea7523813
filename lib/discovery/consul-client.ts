// A thin wrapper over the npm `consul` client: where the agent is (config, else Consul's own
// CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN / CONSUL_CACERT variables), and the few calls
// discovery makes, with the response index exposed and every request abortable. The
// client's own Watch is not used: it has no rate limit and its backoff differs from
// Consul's api/watch (see consul-watch.ts).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Consul from 'consul';
import type { ConsulConfig } from '../config/schema';

/** The fields of a /v1/health/service entry that discovery reads. */
export interface HealthEntry {
  Node: { Node: string; Address: string; Datacenter?: string };
  Service: {
    ID: string;
    Service: string;
    Address: string;
    Port?: number;
    Meta?: Record<string, string> | null;
    Weights?: { Passing?: number; Warning?: number };
  };
}

export interface Indexed<T> {
  /** X-Consul-Index of the response (0 when the header is missing or garbled). */
  index: number;
  body: T;
}

export interface BlockingOptions {
  index: number;
  waitMs: number;
  signal: AbortSignal;
}

export interface RegisterOptions {
  id: string;
  name: string;
  address: string;
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  check: { http: string; interval: string; timeout: string; deregistercriticalserviceafter: string };
}

export interface ConsulEndpoint {
  baseUrl: string;
  token?: string;
  ca?: Buffer;
}

/** Where the agent is and how to talk to it: config first, then Consul's environment variables. */
export function resolveEndpoint(config: Pick<ConsulConfig, 'address' | 'ca_file'>, env = process.env): ConsulEndpoint {
  let address = config.address ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500';
  // Consul's CLI accepts a bare host:port; CONSUL_HTTP_SSL picks https for it.
  if (!/^[a-z]+:\/\//i.test(address)) address = `${env.CONSUL_HTTP_SSL === 'true' ? 'https' : 'http'}://${address}`;
  const url = new URL(address);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`consul address must be http(s): ${address}`);
  const caFile = config.ca_file ?? env.CONSUL_CACERT;
  return {
    baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}/v1`,
    token: env.CONSUL_HTTP_TOKEN || undefined,
    ca: url.protocol === 'https:' && caFile ? readFileSync(caFile) : undefined,
  };
}

/**
 * The client's per-request context: papi aborts the request when it emits `cancel`, and
 * `includeResponse` makes calls resolve to `[response, body]` so the index header is readable.
 */
class RequestContext extends EventEmitter {
  readonly includeResponse = true;
  canceled = false;
}

type Response = { headers: Record<string, string | string[] | undefined> };

function indexOf(res: Response): number {
  const n = Number(res.headers['x-consul-index']);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Go duration syntax, which is what Consul parses `wait` with. */
function goDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/**
 * Longest a blocking request may take: Consul adds up to wait/16 of jitter, then the answer
 * needs a moment to travel; past this the request is abandoned as a timeout.
 */
export function blockingTimeout(waitMs: number): number {
  return Math.ceil((waitMs * 17) / 16) + 1000;
}

/** Non-blocking calls (datacenters, register, deregister) give up after this long. */
const CALL_TIMEOUT_MS = 10_000;

/**
 * The calls used here, typed as the client really takes them: its declarations lack the
 * common `index`, `wait`, `timeout` and `ctx` options and `baseUrl`.
 */
interface ClientCalls {
  health: { service(opts: object): Promise<unknown> };
  kv: { get(opts: object): Promise<unknown> };
  catalog: { datacenters(opts: object): Promise<unknown> };
  agent: { service: { register(opts: object): Promise<unknown>; deregister(opts: object): Promise<unknown> } };
}

export class ConsulClient {
  private readonly consul: ClientCalls;
  private readonly agent: http.Agent;

  constructor(endpoint: ConsulEndpoint) {
    const secure = endpoint.baseUrl.startsWith('https:');
    this.agent = secure ? new https.Agent({ keepAlive: true, ca: endpoint.ca }) : new http.Agent({ keepAlive: true });
    const options = { baseUrl: endpoint.baseUrl, agent: this.agent, defaults: endpoint.token ? { token: endpoint.token } : undefined };
    this.consul = new Consul(options) as unknown as ClientCalls;
  }

  /** Blocking `GET /v1/health/service/:service?passing` in one datacenter. */
  healthService(q: { service: string; tags: readonly string[]; dc?: string } & BlockingOptions): Promise<Indexed<HealthEntry[]>> {
    return this.blocking(q, (opts) =>
      // An array of tags becomes repeated `tag=` parameters: instances must carry all of them.
      this.consul.health.service({ service: q.service, tag: q.tags.length ? q.tags : undefined, passing: true, dc: q.dc, ...opts }),
      (data) => {
        if (!Array.isArray(data)) throw new Error('consul: /health/service answered without a JSON array');
        return data as HealthEntry[];
      },
    );
  }

  /** Blocking `GET /v1/kv/:key`; the body is the decoded value, or undefined when the key is absent. */
  kvGet(q: { key: string; dc?: string } & BlockingOptions): Promise<Indexed<string | undefined>> {
    return this.blocking(q, (opts) => this.consul.kv.get({ key: q.key, dc: q.dc, ...opts }),
      (data) => (data === undefined ? undefined : ((data as { Value: string | null }).Value ?? '')),
    );
  }

  /** `GET /v1/catalog/datacenters`: every known datacenter, nearest (by WAN RTT) first. */
  async datacenters(signal: AbortSignal): Promise<string[]> {
    const [, data] = await withContext(signal, (ctx) => this.consul.catalog.datacenters({ timeout: CALL_TIMEOUT_MS, ctx }));
    return Array.isArray(data) ? data.filter((dc): dc is string => typeof dc === 'string') : [];
  }

  async register(service: RegisterOptions, signal: AbortSignal): Promise<void> {
    await withContext(signal, (ctx) =>
      this.consul.agent.service.register({ ...service, timeout: CALL_TIMEOUT_MS, ctx }),
    );
  }

  /** Deregister; an unknown id (404) already is the wanted outcome. */
  async deregister(id: string): Promise<void> {
    try {
      await this.consul.agent.service.deregister({ id, timeout: CALL_TIMEOUT_MS });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }

  /** Close idle keep-alive sockets. Abort pending requests (their signals) first. */
  destroy(): void {
    this.agent.destroy();
  }

  private async blocking<T>(
    q: BlockingOptions,
    call: (opts: { index: number; wait: string; timeout: number; ctx: RequestContext }) => Promise<unknown>,
    decode: (data: unknown) => T,
  ): Promise<Indexed<T>> {
    const [res, data] = await withContext(q.signal, (ctx) =>
      call({ index: q.index, wait: goDuration(q.waitMs), timeout: blockingTimeout(q.waitMs), ctx }),
    );
    return { index: indexOf(res), body: decode(data) };
  }
}

/** Runs one client call that `signal` aborts; resolves to the response and its body. */
async function withContext(signal: AbortSignal, call: (ctx: RequestContext) => Promise<unknown>): Promise<[Response, unknown]> {
  signal.throwIfAborted();
  const ctx = new RequestContext();
  const cancel = () => {
    ctx.canceled = true;
    ctx.emit('cancel');
  };
  signal.addEventListener('abort', cancel, { once: true });
  try {
    return (await call(ctx)) as [Response, unknown];
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
