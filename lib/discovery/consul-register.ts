// Registers this Switchyard instance with the local Consul agent so that clients (or an
// upstream balancer) can discover it, with an HTTP check on the admin /healthz, and
// deregisters it on stop. Registration is retried with backoff until the agent accepts it.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import type { ConsulConfig } from '../config/schema';
import { ConsulClient, resolveEndpoint } from './consul-client';
import { PLAN_GO_RETRY, retryUntilDone, type WatchTiming } from './consul-watch';

/**
 * A crashed instance cannot deregister itself; its check goes critical and the agent reaps
 * it after this long (Consul's minimum is 1m).
 */
const DEREGISTER_CRITICAL_AFTER = '10m';

export interface SelfRegistrationOptions {
  consul: ConsulConfig;
  /** The proxy's listening port, as bound (it may have been 0 in the config). */
  port: number;
  /** Where the agent reaches the admin listener for the check. */
  adminHost: string;
  adminPort: number;
  /** Defaults to `<service>-<hostname>-<port>`: stable across restarts, unique per instance. */
  id?: string;
  logger?: Logger;
  retry?: Pick<WatchTiming, 'retryBaseMs' | 'retryMaxMs'>;
}

export interface SelfRegistrationEvents {
  registered: [id: string];
  fail: [error: Error, retryMs: number];
}

export class SelfRegistration extends EventEmitter<SelfRegistrationEvents> {
  readonly id: string;
  private readonly client: ConsulClient;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private running?: Promise<void>;
  /** A register request was sent: the agent may hold the service even if the answer was lost. */
  private attempted = false;

  constructor(private readonly opts: SelfRegistrationOptions) {
    super();
    const { service } = opts.consul.register;
    this.id = opts.id ?? `${service}-${hostname()}-${opts.port}`;
    this.client = new ConsulClient(resolveEndpoint(opts.consul));
    this.log = (opts.logger ?? pino({ enabled: false })).child({ consulServiceId: this.id });
  }

  start(): void {
    this.running ??= this.registerUntilDone();
  }

  /** Stops retrying and deregisters whatever the agent may have accepted. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    try {
      if (this.attempted) await this.client.deregister(this.id);
    } catch (err) {
      this.log.warn({ err }, 'consul: deregistration failed; the agent will reap the instance once its check is critical');
    } finally {
      this.client.destroy();
    }
  }

  private async registerUntilDone(): Promise<void> {
    const { consul, port, adminPort } = this.opts;
    const signal = this.abort.signal;
    // A wildcard admin address is not dialable; the agent is local, so loopback reaches it.
    const adminHost = ['0.0.0.0', '::', ''].includes(this.opts.adminHost) ? '127.0.0.1' : this.opts.adminHost;
    const checkHost = adminHost.includes(':') ? `[${adminHost}]` : adminHost;
    const registration = {
      id: this.id,
      name: consul.register.service,
      address: consul.register.address,
      port,
      check: {
        http: `http://${checkHost}:${adminPort}/healthz`,
        interval: `${consul.register.check_interval}ms`,
        timeout: `${Math.min(consul.register.check_interval, 5_000)}ms`,
        deregistercriticalserviceafter: DEREGISTER_CRITICAL_AFTER,
      },
    };
    const done = await retryUntilDone(
      async () => {
        this.attempted = true;
        await this.client.register(registration, signal);
        return true;
      },
      this.opts.retry ?? PLAN_GO_RETRY,
      signal,
      (err, retryMs) => {
        this.log.warn({ err: err.message, retryMs }, 'consul: registration failed');
        this.emit('fail', err, retryMs);
      },
    );
    if (!done) return;
    this.log.info({ service: consul.register.service }, 'consul: registered');
    this.emit('registered', this.id);
  }
}
