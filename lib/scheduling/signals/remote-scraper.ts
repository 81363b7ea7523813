// SignalScraper's interface and semantics, with the scraping (fetch, parse, the ITL mean)
// done in the probe thread (lib/health/probe-thread.ts says why). The signals live on
// the main thread, in each backend's own object: a scrape's result is copied into it as
// SignalScraper would have written it, and `inflightAtScrape` is the backend's in-flight
// count when the worker said the scrape was being sent.
import { EventEmitter } from 'node:events';
import type { ScrapeConfig } from '../../config/schema';
import { probeThread, type ProbeThread, type ThreadClient } from '../../health/probe-thread';
import type { FromWorker } from '../../health/check-protocol';
import type { ScrapeTarget } from './scraper';

interface ScrapeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RemoteScraperOptions {
  logger?: ScrapeLogger;
  /** The probe thread failed (it is restarted). */
  onError?: (err: Error) => void;
  thread?: ProbeThread;
}

interface Tracked {
  readonly seq: number;
  readonly target: ScrapeTarget;
  /** The backend's in-flight count when the scrape in flight was sent. */
  inflightAtSend?: number;
}

/** Emits `scrape` (id, error?) after every scrape attempt, as SignalScraper does. */
export class RemoteSignalScraper extends EventEmitter implements ThreadClient {
  readonly onError?: (err: Error) => void;
  private readonly thread: ProbeThread;
  private readonly id: number;
  private readonly tracked = new Map<string, Tracked>();
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly cfg: ScrapeConfig,
    private readonly opts: RemoteScraperOptions = {},
  ) {
    super();
    this.onError = opts.onError;
    this.thread = opts.thread ?? probeThread;
    this.id = this.thread.open(this);
    this.thread.send({ type: 'scrape-open', client: this.id, cfg });
  }

  /** Starts scraping a backend (within one interval); replaces an earlier target of the same id. */
  track(target: ScrapeTarget): void {
    if (!this.cfg.enabled || this.stopped) return;
    const t: Tracked = { seq: ++this.seq, target };
    this.tracked.set(target.id, t);
    this.sendTrack(this.id, target.id, t);
  }

  /** Stops scraping a backend; a result still on its way is dropped. */
  untrack(id: string): void {
    if (this.tracked.delete(id)) this.thread.send({ type: 'scrape-untrack', client: this.id, id });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tracked.clear();
    this.thread.close(this.id);
  }

  /** ProbeThread: a scrape is being sent, or ended, or a line to log. */
  receive(m: FromWorker): void {
    if (m.type === 'log') {
      this.opts.logger?.[m.level](m.obj, m.msg);
      return;
    }
    if (m.type !== 'scraping' && m.type !== 'scraped') return;
    const t = this.tracked.get(m.id);
    if (!t || t.seq !== m.seq) return;
    if (m.type === 'scraping') {
      t.inflightAtSend = t.target.inflight();
      return;
    }
    // What SignalScraper writes: the model list always, the metrics only when they came.
    const s = t.target.signals;
    const w = m.signals;
    s.loadedModels = w.loadedModels;
    if (m.error === undefined) {
      s.running = w.running;
      s.waiting = w.waiting;
      s.kvUsage = w.kvUsage;
      s.gpuUtil = w.gpuUtil;
      s.inflightAtScrape = t.inflightAtSend; // set by the 'scraping' the worker posts before every scrape
      s.itl = w.itl;
      s.updatedAt = w.updatedAt;
    }
    this.emit('scrape', m.id, m.error === undefined ? undefined : new Error(m.error));
  }

  /** ProbeThread: the worker was restarted; open again and track every target. */
  replay(client: number): void {
    this.thread.send({ type: 'scrape-open', client, cfg: this.cfg });
    for (const [id, t] of this.tracked) this.sendTrack(client, id, t);
  }

  private sendTrack(client: number, id: string, t: Tracked): void {
    this.thread.send({ type: 'scrape-track', client, id, seq: t.seq, url: t.target.url });
  }
}
