// The Switchyard process: listeners, the current Generation (config + route table), the
// pools, hot reload and graceful shutdown.
//
// Reload: parse and validate the file, build the new pools and route table aside (pools
// whose definition did not change are carried over with their connections and state),
// then swap the Generation in one assignment. Requests hold the Generation they started
// with. Pools that are no longer referenced close once their in-flight requests finish.
// A file that fails validation changes nothing but a counter and a log line.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { readFileSync } from 'node:fs';
import { loadConfigFile, parseConfigText, formatProblem, type ConfigProblem, type LoadResult } from './config/load';
import { mergeKvRoutes } from './config/kv-routes';
import { concernsConfig } from './config/watch';
import type { Config } from './config/schema';
import { createSource, KvRoutesWatch, SelfRegistration } from './discovery';
import { createScheduler, ExplainLog } from './scheduling';
import type { Decision } from './scheduling/types';
import { Metrics } from './metrics/registry';
import { PoolRuntime } from './routing/pool';
import { RouteTable } from './routing/table';
import { createProxyServer } from './proxy/server';
import type { Generation, ProxyRuntime } from './proxy/handler';
import { ACCESS_CHUNK, AccessLog, type ChunkSink } from './proxy/access-log';
import { createAdminServer, checkAdminBind, type AdminTarget } from './admin/server';
import { VERSION } from './version';

const ACCESS_FLUSH_MS = 250;

/** Presets that never read scraped backend signals: their pools are not scraped. */
const SIGNAL_FREE = new Set(['round-robin', 'random', 'least-request']);

export interface StartOptions {
  configPath: string;
  logger?: Logger;
  /** Install SIGHUP/SIGTERM/SIGINT handlers and exit the process after shutdown. */
  handleSignals?: boolean;
  /** Watch the config file for changes. Default true. */
  watchFile?: boolean;
}

export type ReloadResult = { ok: true; hash: string; changed: boolean } | { ok: false; problems: ConfigProblem[] };

export class Switchyard implements ProxyRuntime, AdminTarget {
  generation!: Generation;
  readonly metrics = new Metrics();
  readonly logger: Logger;
  accessLog: AccessLog | undefined;
  draining = false;
  private starting = true;
  private pools = new Map<string, PoolRuntime>();
  private readonly configPath: string;
  private explainLog = new ExplainLog(0);
  private proxyServer?: Server;
  private adminServer?: Server;
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  /** Routes YAML from Consul KV ('' = none: the file's routes apply). */
  private kvRoutes = '';
  private kvWatch?: KvRoutesWatch;
  private registration?: SelfRegistration;
  private readonly startedAt = Date.now();
  private readonly accessDest: ChunkSink & { flushSync(): void };
  private readonly accessLines: AccessLog;
  private readonly accessFlush: NodeJS.Timeout;

  private constructor(opts: StartOptions, config: Config, hash: string) {
    this.configPath = resolve(opts.configPath);
    this.logger = opts.logger ?? pino({ level: config.log.level }, pino.destination({ dest: 1, sync: false }));
    // Access lines, one per request, are encoded into chunks by AccessLog and written
    // asynchronously; a line waits at most ACCESS_FLUSH_MS before it is handed over.
    // sonic-boom's types only know string writes; in contentMode 'buffer' it takes Buffers.
    this.accessDest = pino.destination({ dest: 1, sync: false, contentMode: 'buffer', maxWrite: ACCESS_CHUNK } as Parameters<typeof pino.destination>[0]) as unknown as ChunkSink & {
      flushSync(): void;
    };
    this.accessFlush = setInterval(() => this.accessLines.flush(), ACCESS_FLUSH_MS);
    this.accessFlush.unref();
    this.accessLines = new AccessLog(this.accessDest);
    this.apply(config, hash);
  }

  static async start(opts: StartOptions): Promise<Switchyard> {
    const loaded = loadConfigFile(opts.configPath);
    if (!loaded.ok) throw new Error(`invalid config:\n${loaded.problems.map(formatProblem).join('\n')}`);
    const config = loaded.config;
    const token = process.env.SWITCHYARD_ADMIN_TOKEN || undefined;
    if (config.admin.enabled) checkAdminBind(config.admin.host, token);

    const sy = new Switchyard(opts, config, loaded.hash);
    sy.metrics.setBackendSource(() => sy.backendGauges());
    await sy.startKvRoutes();
    await sy.waitForPools([...sy.pools.values()], 5_000);
    sy.proxyServer = createProxyServer(sy, config.limits);
    await listen(sy.proxyServer, config.listen.port, config.listen.host);
    if (config.admin.enabled) {
      sy.adminServer = createAdminServer(sy, token);
      await listen(sy.adminServer, config.admin.port, config.admin.host);
    }
    sy.startRegistration();
    sy.starting = false;
    if (opts.watchFile !== false) sy.watchConfig();
    if (opts.handleSignals) sy.installSignals();
    sy.logger.info({ listen: sy.address(), admin: sy.adminAddress(), config: sy.configPath, hash: loaded.hash, version: VERSION }, 'switchyard started');
    return sy;
  }

  address(): AddressInfo | undefined {
    return this.proxyServer?.address() as AddressInfo | undefined;
  }

  adminAddress(): AddressInfo | undefined {
    return this.adminServer?.address() as AddressInfo | undefined;
  }

  /** Build pools and the route table for `config`, then swap them in. */
  private apply(config: Config, hash: string): PoolRuntime[] {
    const next = new Map<string, PoolRuntime>();
    const fresh: PoolRuntime[] = [];
    for (const [name, poolConfig] of Object.entries(config.pools)) {
      const key = JSON.stringify(poolConfig) + (poolConfig.consul ? JSON.stringify(config.consul) : '');
      const old = this.pools.get(name);
      if (old && old.key === key) {
        next.set(name, old);
        continue;
      }
      const pool = new PoolRuntime(name, poolConfig, key, {
        source: createSource(name, poolConfig, config, this.logger),
        scheduler: createScheduler(name, poolConfig),
        logger: this.logger,
        scrape: poolConfig.scheduler !== undefined || !SIGNAL_FREE.has(poolConfig.strategy),
        onShed: (pool, reason) => this.metrics.shedded(pool, reason),
      });
      next.set(name, pool);
      fresh.push(pool);
    }
    for (const pool of fresh) pool.start();
    const table = new RouteTable(config, next, hash, this.generation?.table);
    const retired = [...this.pools.values()].filter((p) => next.get(p.name) !== p);

    this.pools = next;
    this.generation = { config, table };
    const levelValue = pino.levels.values[config.log.level] ?? Infinity; // 'silent' has no value
    this.accessLog = config.log.access && AccessLog.enabledAt(levelValue) ? this.accessLines : undefined;
    if (this.explainLog.capacity !== config.explain.keep) this.explainLog = new ExplainLog(config.explain.keep);
    this.metrics.setConfigHash(hash);
    // Retired pools finish what they carry: undici's close() waits for in-flight requests.
    for (const p of retired) void p.close();
    return fresh;
  }

  /** The file, with routes from Consul KV when they are enabled and present. */
  private load(): LoadResult {
    if (!this.kvRoutes) return loadConfigFile(this.configPath);
    let merged: string;
    try {
      merged = mergeKvRoutes(readFileSync(this.configPath, 'utf8'), this.kvRoutes);
    } catch (err) {
      return { ok: false, file: this.configPath, problems: [{ file: 'consul-kv', line: 1, col: 1, message: (err as Error).message }] };
    }
    return parseConfigText(merged, `${this.configPath} (routes from Consul KV)`);
  }

  /**
   * With `consul.kv.enabled`, routes in KV win over the file's: wait (up to 5 s) for the
   * first answer so the proxy never starts serving the file's routes by mistake. If Consul
   * does not answer in time, start on the file's routes and switch when it does.
   */
  private async startKvRoutes(): Promise<void> {
    const consul = this.generation.config.consul;
    if (!consul?.kv.enabled) return;
    this.kvWatch = new KvRoutesWatch({
      consul,
      logger: this.logger,
      onRoutes: (text) => {
        const previous = this.kvRoutes;
        this.kvRoutes = text;
        this.logger.info({ bytes: text.length }, text ? 'routes changed in Consul KV' : "routes removed from Consul KV; the file's routes apply");
        const r = this.reload();
        if (!r.ok) this.kvRoutes = previous;
      },
    });
    this.kvWatch.start();
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      this.kvWatch.firstAnswer.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5_000))),
    ]);
    clearTimeout(timer);
    if (!answered) this.logger.warn("Consul KV did not answer within 5 s; starting with the file's routes");
  }

  private startRegistration(): void {
    const consul = this.generation.config.consul;
    if (!consul?.register.enabled) return;
    const admin = this.adminAddress();
    this.registration = new SelfRegistration({
      consul,
      port: this.address()!.port,
      adminHost: admin?.address ?? this.generation.config.admin.host,
      adminPort: admin?.port ?? this.generation.config.admin.port,
      logger: this.logger,
    });
    this.registration.start();
  }

  /**
   * Reload the config. `quiet`: a reload triggered by an event that may not concern the
   * config (another file in its directory) stays silent when nothing changed.
   */
  reload(opts: { quiet?: boolean } = {}): ReloadResult {
    const loaded = this.load();
    if (!loaded.ok) {
      this.metrics.reload('failure');
      this.logger.error({ problems: loaded.problems.map(formatProblem) }, 'config reload refused; the running config stays');
      return { ok: false, problems: loaded.problems };
    }
    if (loaded.hash === this.generation.table.hash) {
      if (!opts.quiet) this.metrics.reload('success');
      return { ok: true, hash: loaded.hash, changed: false };
    }
    const old = this.generation.config;
    if (old.listen.port !== loaded.config.listen.port || old.listen.host !== loaded.config.listen.host) {
      this.logger.warn('listen address changes take effect on restart');
    }
    try {
      this.apply(loaded.config, loaded.hash);
    } catch (err) {
      this.metrics.reload('failure');
      this.logger.error({ err }, 'config reload failed while building pools; the running config stays');
      return { ok: false, problems: [{ file: this.configPath, line: 1, col: 1, message: (err as Error).message }] };
    }
    this.metrics.reload('success');
    this.logger.info({ hash: loaded.hash }, 'config reloaded');
    return { ok: true, hash: loaded.hash, changed: true };
  }

  private async waitForPools(pools: PoolRuntime[], timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pools.map((p) => p.ready)),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private watchConfig(): void {
    const file = basename(this.configPath);
    // The directory, filtered by config/watch.ts (renames by editors, ConfigMap swaps).
    let quiet = true;
    this.watcher = watch(dirname(this.configPath), (_event, name) => {
      if (!concernsConfig(name, file)) return;
      quiet &&= name !== file;
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => {
        this.reload({ quiet });
        quiet = true;
      }, 100);
    });
    this.watcher.on('error', (err) => this.logger.warn({ err }, 'config watch failed; SIGHUP still reloads'));
  }

  private installSignals(): void {
    process.on('SIGHUP', () => this.reload());
    const stop = (signal: string) => {
      void this.shutdown(signal).then(() => process.exit(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  }

  /**
   * Stop accepting, let in-flight requests and streams finish up to the drain deadline,
   * then close what remains.
   */
  async shutdown(reason = 'shutdown'): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const deadline = this.generation.config.shutdown.drain_timeout;
    this.logger.info({ reason, drain_timeout_ms: deadline }, 'draining');
    this.watcher?.close();
    clearTimeout(this.reloadTimer);
    // Leave the catalog first, so nothing new is sent here while we drain.
    await this.registration?.stop();
    await this.kvWatch?.stop();
    const server = this.proxyServer;
    if (server) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), deadline))),
      ]);
      clearTimeout(timer);
      if (expired) {
        this.logger.warn('drain deadline reached; closing remaining connections');
        server.closeAllConnections();
        await closed;
      }
    }
    await Promise.all([...this.pools.values()].map((p) => p.close(true)));
    await new Promise<void>((r) => (this.adminServer ? this.adminServer.close(() => r()) : r()));
    this.adminServer?.closeAllConnections();
    this.logger.info('stopped');
    clearInterval(this.accessFlush);
    this.accessLines.flush();
    this.accessDest.flushSync();
    this.logger.flush?.();
  }

  // --- ProxyRuntime -------------------------------------------------------------------
  recordExplain(requestId: string, explain: NonNullable<Decision['explain']>): void {
    this.explainLog.record(requestId, explain);
  }

  // --- AdminTarget --------------------------------------------------------------------
  healthy(): boolean {
    return !this.starting && !this.draining;
  }

  status() {
    return {
      version: VERSION,
      config: { path: this.configPath, hash: this.generation.table.hash },
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      draining: this.draining,
      pools: Object.fromEntries([...this.pools.values()].map((p) => [p.name, p.status()])),
    };
  }

  routes() {
    return this.generation.table.describe();
  }

  setDrain(pool: string, backend: string, draining: boolean): boolean {
    return this.pools.get(pool)?.setDrain(backend, draining) ?? false;
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.contentType, body: await this.metrics.text() };
  }

  explain(requestId: string | null): unknown {
    return requestId ? this.explainLog.get(requestId) : { recent: this.explainLog.recent(50) };
  }

  private *backendGauges() {
    for (const p of this.pools.values()) {
      for (const b of p.backends.values()) {
        yield { pool: p.name, backend: b.id, inflight: b.inflight, up: b.available, breaker: b.breakerState };
      }
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
