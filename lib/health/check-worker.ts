// The worker thread that runs every pool's active health checks and metrics scrapes (see
// probe-thread.ts for why they do not run on the data plane's thread). It owns one
// ActiveHealthChecker or SignalScraper per client the main thread opens and reports each
// result; the main thread keeps the verdicts and the signals, and calls the pools back.
// Nothing here touches a request.
import { parentPort } from 'node:worker_threads';
import { ActiveHealthChecker } from './active-checker';
import type { SignalScraper } from '../scheduling/signals/scraper';
import type { BackendSignals } from '../scheduling/types';
import type { ToWorker, FromWorker } from './check-protocol';

const port = parentPort;
if (!port) throw new Error('check-worker.js runs as a worker thread (lib/health/probe-thread.ts starts it)');

interface Scraping {
  scraper: SignalScraper;
  targets: Map<string, { seq: number; signals: BackendSignals }>;
}

const checkers = new Map<number, ActiveHealthChecker>();
const scrapers = new Map<number, Scraping>();

function post(m: FromWorker): void {
  port!.postMessage(m);
}

// Loaded with the first scraper: a process whose pools only check does not pay for the
// metrics parser (≈ 9 MiB of RSS).
let Scraper: typeof SignalScraper | undefined;

function openScraper(client: number, cfg: ToWorker & { type: 'scrape-open' }): void {
  const log = (level: 'info' | 'warn') => (obj: object, msg: string) => post({ type: 'log', client, level, obj, msg });
  Scraper ??= (require('../scheduling/signals/scraper') as typeof import('../scheduling/signals/scraper')).SignalScraper;
  const scraper = new Scraper(cfg.cfg, { logger: { info: log('info'), warn: log('warn') } });
  const entry: Scraping = { scraper, targets: new Map() };
  scraper.on('scrape', (id: string, error?: Error) => {
    const t = entry.targets.get(id);
    if (t) post({ type: 'scraped', client, id, seq: t.seq, signals: t.signals, error: error?.message });
  });
  scrapers.set(client, entry);
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'open':
      checkers.set(m.client, new ActiveHealthChecker(m.cfg));
      return;
    case 'track': {
      const c = checkers.get(m.client);
      if (!c) return;
      const { client, id, seq } = m;
      c.track(id, m.url, () => {}, {
        initiallyHealthy: m.initiallyHealthy,
        // After the verdict is updated: send both, the main thread tells a change from its copy.
        onResult: (pass) => post({ type: 'result', client, id, seq, pass, healthy: c.healthy(id) ?? pass }),
      });
      return;
    }
    case 'untrack':
      checkers.get(m.client)?.untrack(m.id);
      return;
    case 'scrape-open':
      openScraper(m.client, m);
      return;
    case 'scrape-track': {
      const s = scrapers.get(m.client);
      if (!s) return;
      const { client, id, seq } = m;
      const signals: BackendSignals = { updatedAt: 0 };
      s.targets.set(id, { seq, signals });
      // The in-flight count lives on the main thread: it notes it when told a scrape is sent.
      const inflight = () => (post({ type: 'scraping', client, id, seq }), 0);
      s.scraper.track({ id, url: m.url, signals, inflight });
      return;
    }
    case 'scrape-untrack': {
      const s = scrapers.get(m.client);
      s?.scraper.untrack(m.id);
      s?.targets.delete(m.id);
      return;
    }
    case 'close': {
      const c = checkers.get(m.client);
      checkers.delete(m.client);
      void c?.stop();
      const s = scrapers.get(m.client);
      scrapers.delete(m.client);
      void s?.scraper.stop();
      return;
    }
  }
});
