// Consul self-registration of simulated backends (`--consul URL --service NAME --meta k=v`),
// with the npm `consul` client: one service instance per backend, Meta describing it
// (model, model_version, gpu_type, zone, region), tags = its models, and an HTTP check on its
// /health. The check starts `passing` (the listener is up when we register); Consul then
// probes /health itself. Deregistered on close.
import Consul from 'consul';
import type { SimInstance } from './server';

export interface ConsulRegistration {
  /** Agent address, e.g. http://127.0.0.1:8500 (default $CONSUL_HTTP_ADDR). */
  url: string;
  service: string;
  /** Extra or overriding Meta (strings). */
  meta?: Record<string, string>;
  tags?: string[];
  /** ACL token (default $CONSUL_HTTP_TOKEN). */
  token?: string;
  /** Address Consul and clients should use for the backend (default the listen host, 127.0.0.1 for 0.0.0.0). */
  advertiseHost?: string;
  /** HTTP check interval (Consul duration), default 2s. */
  checkInterval?: string;
}

export interface Registered {
  serviceId: string;
  deregister(): Promise<void>;
}

export function consulClient(url: string, token?: string): Consul {
  const u = new URL(url.includes('://') ? url : `http://${url}`);
  const secure = u.protocol === 'https:';
  const tok = token ?? process.env.CONSUL_HTTP_TOKEN;
  return new Consul({
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 443 : 8500,
    secure,
    ...(tok ? { defaults: { token: tok } } : {}),
  });
}

/** The Meta a backend registers with: defaults from its profile and models, then `reg.meta`. */
export function instanceMeta(inst: SimInstance, reg: Pick<ConsulRegistration, 'meta'>): Record<string, string> {
  return {
    model: [...inst.engine.models.keys()].join(','),
    model_version: '1',
    gpu_type: inst.profile.gpuType,
    zone: 'local-a',
    region: 'local',
    engine: 'vllm',
    sim_id: inst.id,
    ...reg.meta,
  };
}

export async function registerInstance(inst: SimInstance, reg: ConsulRegistration): Promise<Registered> {
  const client = consulClient(reg.url, reg.token);
  const host = reg.advertiseHost ?? (inst.host === '0.0.0.0' || inst.host === '::' ? '127.0.0.1' : inst.host);
  const serviceId = `${reg.service}-${inst.id}`;
  await client.agent.service.register({
    name: reg.service,
    id: serviceId,
    address: host,
    port: inst.port,
    tags: reg.tags ?? [...inst.engine.models.keys()],
    meta: instanceMeta(inst, reg),
    check: {
      name: `HTTP /health of ${inst.id}`,
      http: `http://${host.includes(':') ? `[${host}]` : host}:${inst.port}/health`,
      interval: reg.checkInterval ?? '2s',
      timeout: '1s',
      status: 'passing',
      deregistercriticalserviceafter: '1m',
    },
  });
  let done = false;
  return {
    serviceId,
    async deregister() {
      if (done) return;
      done = true;
      try {
        await client.agent.service.deregister(serviceId);
      } finally {
        client.destroy();
      }
    },
  };
}
