// Picks a pool's discovery source from its config.
import type { Logger } from 'pino';
import type { Config, PoolConfig } from '../config/schema';
import { ConsulSource } from './consul-source';
import { StaticSource } from './static';
import type { DiscoverySource } from './types';

export function createSource(poolName: string, pool: PoolConfig, config: Config, logger?: Logger): DiscoverySource {
  if (pool.consul) {
    // The loader refuses a consul pool without a top-level `consul` section.
    if (!config.consul) throw new Error(`pool "${poolName}" uses consul discovery but there is no top-level \`consul\` section`);
    return new ConsulSource({ pool: poolName, service: pool.consul, consul: config.consul, logger });
  }
  return new StaticSource(pool.backends ?? []);
}

export type { DiscoverySource, Endpoint, EndpointSink, SourceStatus } from './types';
export { ConsulSource } from './consul-source';
export { KvRoutesWatch } from './consul-kv';
export { SelfRegistration } from './consul-register';
export { StaticSource } from './static';
