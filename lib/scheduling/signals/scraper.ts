// Polls each backend's /metrics and /v1/models and writes what it finds into the
// BackendSignals object the backend owns. One scrape in flight per backend; the next starts
// an interval (± 10% jitter, so a fleet's scrapes do not align) after the previous ends.
//
// A failed metrics scrape leaves `updatedAt` alone, so the data ages into staleness and
// consumers treat it as unknown. A failed /v1/models clears `loadedModels` (unknown), so a
// backend never keeps counting as having a model on the strength of an old answer.
//
// Inter-token latency (`signals.itl`): each scrape's Δsum and Δcount of the engine's ITL
// histogram are added to decayed totals (both × ITL_DECAY per scrape), and itl = sum ÷
// count: a token-weighted mean over the last few scrapes, so one window with a long
// prefill step in it does not make a backend look slow. A scrape without new tokens
// changes nothing (both totals decay alike), and the next tokens then weigh more. A
// counter that went backwards (engine restart) starts a new baseline, with itl unknown.
import { EventEmitter } from 'node:events';
import { Agent, request, type Dispatcher } from 'undici';
import type { ScrapeConfig } from '../../config/schema';
import type { BackendSignals } from '../types';
import { readEngineMetrics, type EngineMetrics } from './metrics';
import { readModelList } from './models';

export interface ScrapeTarget {
  readonly id: string;
  /** Origin (and optional base path) of the backend, e.g. "http://10.0.0.5:8000". */
  readonly url: string;
  /** Written by the scraper, read by the scheduler. */
  readonly signals: BackendSignals;
  /** This process's in-flight requests to the backend now. */
  inflight(): number;
}

interface ScrapeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ScraperOptions {
  logger?: ScrapeLogger;
  /** Wall-clock ms for `updatedAt`; default Date.now. */
  clock?: () => number;
  random?: () => number;
  /** Default: an Agent of this scraper's own, closed by stop(). */
  dispatcher?: Dispatcher;
}

const JITTER = 0.1;
/** Weight left to the earlier windows of the ITL mean after each scrape. */
export const ITL_DECAY = 0.75;
const MAX_METRICS_BYTES = 8 * 1024 * 1024;
const MAX_MODELS_BYTES = 1024 * 1024;

interface Tracked {
  readonly target: ScrapeTarget;
  readonly metricsUrl: string;
  readonly modelsUrl: string;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  abort?: AbortController;
  removed: boolean;
  failing: boolean;
  /** The ITL histogram's cumulative sum and count at the last scrape, and the decayed totals of their deltas. */
  itlBase?: { sum: number; count: number };
  itlSum: number;
  itlCount: number;
}

/**
 * Emits `scrape` (id, error?) after every scrape attempt: error is set when the metrics
 * scrape failed (the /v1/models outcome is visible in `signals.loadedModels`).
 */
export class SignalScraper extends EventEmitter {
  private readonly tracked = new Map<string, Tracked>();
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: () => number;
  private readonly random: () => number;
  private stopped = false;

  constructor(
    private readonly cfg: ScrapeConfig,
    private readonly opts: ScraperOptions = {},
  ) {
    super();
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher = opts.dispatcher ?? new Agent({ connections: 2, keepAliveTimeout: Math.max(4000, cfg.interval * 2) });
  }

  /** Starts scraping a backend (within one interval); replaces an earlier target of the same id. */
  track(target: ScrapeTarget): void {
    if (!this.cfg.enabled || this.stopped) return;
    this.untrack(target.id);
    const base = target.url.replace(/\/+$/, '');
    const t: Tracked = { target, metricsUrl: base + this.cfg.path, modelsUrl: base + this.cfg.models_path, removed: false, failing: false, itlSum: 0, itlCount: 0 };
    this.tracked.set(target.id, t);
    this.schedule(t, this.random() * this.cfg.interval);
  }

  /** Stops scraping a backend and aborts its scrape in flight. */
  untrack(id: string): void {
    const t = this.tracked.get(id);
    if (t === undefined) return;
    this.tracked.delete(id);
    t.removed = true;
    clearTimeout(t.timer);
    t.abort?.abort();
  }

  /** Scrapes a backend now (or joins the scrape in flight); resolves when it is done. */
  scrapeNow(id: string): Promise<void> {
    const t = this.tracked.get(id);
    return t === undefined ? Promise.resolve() : this.run(t);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.tracked.keys()]) this.untrack(id);
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private schedule(t: Tracked, delay: number): void {
    t.timer = setTimeout(() => void this.run(t), delay);
    t.timer.unref();
  }

  private run(t: Tracked): Promise<void> {
    if (t.running) return t.running;
    clearTimeout(t.timer);
    t.running = this.scrape(t).finally(() => {
      t.running = undefined;
      if (!t.removed) this.schedule(t, this.cfg.interval * (1 + JITTER * (2 * this.random() - 1)));
    });
    return t.running;
  }

  private async scrape(t: Tracked): Promise<void> {
    const abort = new AbortController();
    t.abort = abort;
    const timeout = setTimeout(() => abort.abort(new Error(`scrape timed out after ${this.cfg.timeout}ms`)), this.cfg.timeout);
    const inflightAtSend = t.target.inflight();
    const [metrics, models] = await Promise.allSettled([
      this.fetchText(t.metricsUrl, MAX_METRICS_BYTES, abort.signal).then(readEngineMetrics),
      this.fetchText(t.modelsUrl, MAX_MODELS_BYTES, abort.signal).then((text) => readModelList(JSON.parse(text))),
    ]);
    clearTimeout(timeout);
    if (t.removed) return;
    const s = t.target.signals;
    s.loadedModels = models.status === 'fulfilled' ? models.value : undefined;
    if (metrics.status === 'fulfilled') {
      s.running = metrics.value.running;
      s.waiting = metrics.value.waiting;
      s.kvUsage = metrics.value.kvUsage;
      s.gpuUtil = metrics.value.gpuUtil;
      s.inflightAtScrape = inflightAtSend;
      updateItl(t, s, metrics.value);
      s.updatedAt = this.clock();
    }
    const error = metrics.status === 'rejected' ? asError(metrics.reason) : undefined;
    this.logTransition(t, error);
    this.emit('scrape', t.target.id, error);
  }

  private async fetchText(url: string, maxBytes: number, signal: AbortSignal): Promise<string> {
    const res = await request(url, { dispatcher: this.dispatcher, signal, headers: { accept: 'text/plain, application/json' } });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new Error(`GET ${url}: body larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private logTransition(t: Tracked, error: Error | undefined): void {
    const failing = error !== undefined;
    if (failing === t.failing) return;
    t.failing = failing;
    const log = this.opts.logger;
    if (failing) log?.warn({ backend: t.target.id, err: error.message }, 'metrics scrape failing; signals will go stale');
    else log?.info({ backend: t.target.id }, 'metrics scrape recovered');
  }
}

function updateItl(t: Tracked, s: BackendSignals, m: EngineMetrics): void {
  const { itlSum: sum, itlCount: count } = m;
  const base = t.itlBase;
  if (sum === undefined || count === undefined || (base !== undefined && (count < base.count || sum < base.sum))) {
    // No ITL histogram (any more), or the engine restarted: what we had is of no use.
    t.itlBase = sum === undefined || count === undefined ? undefined : { sum, count };
    t.itlSum = t.itlCount = 0;
    s.itl = undefined;
    return;
  }
  t.itlBase = { sum, count };
  if (base === undefined) return;
  t.itlSum = t.itlSum * ITL_DECAY + (sum - base.sum);
  t.itlCount = t.itlCount * ITL_DECAY + (count - base.count);
  if (t.itlCount > 0) s.itl = t.itlSum / t.itlCount;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
