// Static discovery: the pool's `backends` list from the YAML. The set never changes while
// the config is in force, so it is delivered once, synchronously, on start.
import type { PoolConfig } from '../config/schema';
import { backendIdOf } from '../config/load';
import type { DiscoverySource, Endpoint, EndpointSink, SourceStatus } from './types';

type BackendEntry = NonNullable<PoolConfig['backends']>[number];

export function staticEndpoint(entry: BackendEntry): Endpoint {
  const url = typeof entry === 'string' ? entry : entry.url;
  const id = backendIdOf(entry);
  // The loader has already validated URLs and ids; this guards direct callers.
  if (id === undefined) throw new TypeError(`invalid backend URL "${url}"`);
  return Object.freeze({
    id,
    url: new URL(url).origin,
    weight: typeof entry === 'string' ? 1 : entry.weight,
    meta: Object.freeze(typeof entry === 'string' ? {} : { ...entry.meta }),
  });
}

export class StaticSource implements DiscoverySource {
  readonly kind = 'static';
  private readonly endpoints: readonly Endpoint[];
  private lastUpdate?: number;

  constructor(backends: readonly BackendEntry[]) {
    this.endpoints = Object.freeze(backends.map(staticEndpoint));
  }

  start(sink: EndpointSink): void {
    this.lastUpdate = Date.now();
    sink.replace(this.endpoints);
  }

  async stop(): Promise<void> {}

  status(): SourceStatus {
    return { kind: this.kind, ok: true, lastUpdate: this.lastUpdate, detail: { backends: this.endpoints.length } };
  }
}
