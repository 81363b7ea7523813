// Shared setup for the discovery integration tests: a ConsulTestServer on 127.0.0.1, config
// sections parsed through the real schema (so defaults are the daemon's), and event waits
// that fail instead of hanging.
import { once, type EventEmitter } from 'node:events';
import type { Test } from 'tap';
import { configSchema, type ConsulConfig, type PoolConsulConfig } from '../../../lib/config/schema';
import { ConsulSource } from '../../../lib/discovery/consul-source';
import type { Endpoint } from '../../../lib/discovery/types';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../support/consul/server';

/** Short blocking waits and a fast backoff, so each scenario runs in well under a second or two. */
export const TEST_RETRY = { retryBaseMs: 20, retryMaxMs: 400 };
const TEST_CONSUL = { wait: '500ms', min_interval: '10ms', burst: 2, empty_grace: '300ms' };

export async function startConsul(t: Test, opts: ConsulTestServerOptions = {}): Promise<ConsulTestServer> {
  const server = await ConsulTestServer.start(opts);
  t.teardown(() => server.close());
  return server;
}

/** The top-level `consul` section and one pool's `consul` section, with schema defaults. */
export function settings(url: string, consul: Record<string, unknown> = {}, pool: Record<string, unknown> = {}) {
  const parsed = configSchema.parse({
    consul: { address: url, ...TEST_CONSUL, ...consul },
    pools: { p: { consul: { service: 'vllm', ...pool } } },
  });
  return { consul: parsed.consul as ConsulConfig, pool: parsed.pools.p!.consul as PoolConsulConfig };
}

/** A started ConsulSource and every set it delivered, stopped at teardown. */
export function startSource(t: Test, url: string, consul: Record<string, unknown> = {}, pool: Record<string, unknown> = {}) {
  const s = settings(url, consul, pool);
  const source = new ConsulSource({ pool: 'p', service: s.pool, consul: s.consul, retry: TEST_RETRY });
  const deliveries: (readonly Endpoint[])[] = [];
  source.start({ replace: (set) => deliveries.push(set) });
  t.teardown(() => source.stop());
  return { source, deliveries };
}

/** The next `event` of `emitter`, or a rejection after `ms`. */
export async function next<T extends unknown[] = unknown[]>(emitter: EventEmitter<any>, event: string, ms = 5000): Promise<T> {
  return (await once(emitter as EventEmitter, event, { signal: AbortSignal.timeout(ms) })) as T;
}

export const ids = (set: readonly Endpoint[]) => set.map((e) => e.id);

/** Registers instance `id` of service vllm (passing) on its own node. */
export function addInstance(server: ConsulTestServer, id: string, port: number, extra: { datacenter?: string; meta?: Record<string, string> } = {}) {
  return server.registerService({
    node: `node-${id}`,
    address: '127.0.0.1',
    datacenter: extra.datacenter,
    service: { ID: id, Service: 'vllm', Port: port, Meta: extra.meta },
    checks: [{ Status: 'passing' }],
  });
}

/**
 * A server with one passing instance `a`, and a source that has delivered it and parked its
 * next blocking query: the starting point of most scenarios.
 */
export async function watchingOne(t: Test, consul: Record<string, unknown> = {}, opts: ConsulTestServerOptions = {}) {
  const server = await startConsul(t, opts);
  addInstance(server, 'a', 9001);
  const started = startSource(t, server.url, consul);
  await next(started.source, 'deliver');
  await server.waitForBlocked();
  return { server, ...started };
}
