// Messages between the main thread and the probe worker (check-worker.ts), which runs the
// pools' active health checks (remote-checker.ts) and metrics scrapes
// (scheduling/signals/remote-scraper.ts). `client` names one user of the thread (a pool's checker
// or scraper); `seq` one tracking of a backend, so a result that was in flight when its
// target was untracked or re-tracked is dropped.
import type { HealthConfig, ScrapeConfig } from '../config/schema';
import type { BackendSignals } from '../scheduling/types';

export type ToWorker =
  | { type: 'open'; client: number; cfg: HealthConfig }
  | { type: 'track'; client: number; id: string; seq: number; url: string; initiallyHealthy: boolean }
  | { type: 'untrack'; client: number; id: string }
  | { type: 'scrape-open'; client: number; cfg: ScrapeConfig }
  | { type: 'scrape-track'; client: number; id: string; seq: number; url: string }
  | { type: 'scrape-untrack'; client: number; id: string }
  | { type: 'close'; client: number };

export type FromWorker =
  /** One check's result and the verdict after it. */
  | { type: 'result'; client: number; id: string; seq: number; pass: boolean; healthy: boolean }
  /** A scrape is about to be sent: the main thread notes the backend's in-flight count. */
  | { type: 'scraping'; client: number; id: string; seq: number }
  /** A scrape ended: the worker's copy of the signals, and the metrics error if it failed. */
  | { type: 'scraped'; client: number; id: string; seq: number; signals: BackendSignals; error?: string }
  /** A scraper's log line, for the pool's logger. */
  | { type: 'log'; client: number; level: 'info' | 'warn'; obj: object; msg: string };
