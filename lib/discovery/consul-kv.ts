// Route weight tables from Consul KV: a blocking watch on `<prefix>routes`, whose value is
// the YAML of a `routes:` list. The owner merges it into the config and reloads; this file
// only reports what the key holds. Errors deliver nothing (the last tables stay in force).
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { ConsulConfig } from '../config/schema';
import { ConsulClient, resolveEndpoint } from './consul-client';
import { BlockingWatch, PLAN_GO_RETRY, type WatchTiming } from './consul-watch';
import type { SourceStatus } from './types';

export interface KvRoutesOptions {
  consul: ConsulConfig;
  /**
   * The key's text whenever it changes. `''` means the key was deleted or emptied: no
   * routes from KV any more. A key that is absent from the start is not reported.
   */
  onRoutes: (yamlText: string, index: number) => void;
  logger?: Logger;
  retry?: Pick<WatchTiming, 'retryBaseMs' | 'retryMaxMs'>;
}

export interface KvRoutesEvents {
  fail: [error: Error, retryMs: number];
}

export class KvRoutesWatch extends EventEmitter<KvRoutesEvents> {
  readonly key: string;
  private readonly client: ConsulClient;
  private readonly watch: BlockingWatch<string | undefined>;
  private readonly log: Logger;
  private text = '';
  private lastUpdate?: number;
  /** Resolves after Consul first answered (the key's value delivered, or known absent). */
  readonly firstAnswer: Promise<void>;

  constructor(private readonly opts: KvRoutesOptions) {
    super();
    const { consul } = opts;
    this.key = `${consul.kv.prefix}routes`;
    this.log = (opts.logger ?? pino({ enabled: false })).child({ key: this.key });
    this.client = new ConsulClient(resolveEndpoint(consul));
    this.watch = new BlockingWatch((q) => this.client.kvGet({ key: this.key, dc: consul.datacenter, ...q }), {
      waitMs: consul.wait,
      minIntervalMs: consul.min_interval,
      burst: consul.burst,
      ...(opts.retry ?? PLAN_GO_RETRY),
    });
    this.firstAnswer = new Promise((resolve) => this.watch.once('change', () => resolve()));
    this.watch.on('change', (value, index) => this.onValue(value ?? '', index));
    this.watch.on('fail', (err, retryMs) => {
      this.log.warn({ err: err.message, retryMs }, 'consul: kv routes watch failed, keeping the last routes');
      this.emit('fail', err, retryMs);
    });
  }

  start(): void {
    this.watch.start();
  }

  async stop(): Promise<void> {
    await this.watch.stop();
    this.client.destroy();
  }

  status(): SourceStatus {
    return {
      kind: 'consul-kv',
      ok: this.watch.ok,
      lastError: this.watch.lastError,
      lastUpdate: this.lastUpdate,
      detail: { key: this.key, index: this.watch.index, requests: this.watch.requests },
    };
  }

  private onValue(text: string, index: number): void {
    if (text === this.text) return;
    this.text = text;
    this.lastUpdate = Date.now();
    try {
      this.opts.onRoutes(text, index);
    } catch (err) {
      this.log.error({ err }, 'consul: kv routes handler failed');
    }
  }
}
