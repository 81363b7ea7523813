// Active health checks, and metrics scrapes, run in a worker thread, not on the data
// plane's.
//
// Why: a check is an HTTP request through undici, so it runs the same undici and Node
// stream code as every proxied request, with other shapes (an Agent, `request()`'s
// handler and body stream, a timer with a fractional delay). Each check then deoptimized
// the data plane's hot functions (undici's Client, Request and writeH1, Node's Readable),
// and V8 re-optimized them, in steady state: with one backend checked every 5 s, 60,000
// proxied requests saw ≈ 270 optimizations and 42 deoptimizations, against ≈ 30 and 7
// with checks off (`--trace-opt --trace-deopt`; see benchmarks/README.md, session 7).
// Scrapes did the same at a 5 s `scrape.interval` (not at 1 s). In their own isolate,
// probes share no type feedback with the data plane.
//
// One worker serves every pool: it starts with the first client (a pool's checker or
// scraper) and ends with the last, and it is unref'd, so it never keeps the process alive.
// The verdicts and signals live on the main thread (the worker reports each probe); if the
// worker dies, it is restarted after RESTART_MS and every client opens and tracks again.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { FromWorker, ToWorker } from './check-protocol';
import { nodeTimers, type Timers } from './timers';

const WORKER_FILE = join(__dirname, 'check-worker.js');
export const RESTART_MS = 1000;
/**
 * Probes allocate little but in bursts (a scrape reads up to 8 MiB of metrics text and
 * parses it), so the young generation is small and the old one has room. Without a cap
 * the thread's young generation would take the process's (the unit's
 * --max-semi-space-size applies to every isolate).
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 256 };

/** What uses the thread: told its messages, and asked to open and track again after a restart. */
export interface ThreadClient {
  receive(m: FromWorker): void;
  /** The worker was restarted: send the open message and every track again, under `id`. */
  replay(id: number): void;
  /** The worker failed (it is restarted); for the pool's log. */
  onError?: (err: Error) => void;
}

/** The shared worker thread and the clients that use it. */
export class ProbeThread {
  private current?: Worker;
  private readonly clients = new Map<number, ThreadClient>();
  private nextId = 1;
  private restartTimer?: unknown;

  /** `timers`: Node's, unref'd (a pending restart never keeps the process alive). */
  constructor(private readonly timers: Timers = nodeTimers) {}

  /** The running worker, if any (for status and tests). */
  get worker(): Worker | undefined {
    return this.current;
  }

  /** Register a client; it then sends its own open message under the id returned. */
  open(c: ThreadClient): number {
    const id = this.nextId++;
    this.clients.set(id, c);
    return id;
  }

  close(id: number): void {
    if (!this.clients.delete(id)) return;
    if (this.clients.size > 0) {
      this.send({ type: 'close', client: id });
      return;
    }
    this.timers.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const w = this.current;
    this.current = undefined; // before terminate: its 'exit' is then not a crash
    void w?.terminate();
  }

  /** Post to the worker, starting it if needed. Dropped while a restart is pending: the restart replays. */
  send(m: ToWorker): void {
    if (!this.current && !this.restartTimer) this.current = this.start();
    this.current?.postMessage(m);
  }

  private start(): Worker {
    const w = new Worker(WORKER_FILE, { name: 'switchyard-probes', resourceLimits: RESOURCE_LIMITS });
    w.unref();
    w.on('message', (m: FromWorker) => this.clients.get(m.client)?.receive(m));
    w.on('error', (err) => {
      for (const c of this.clients.values()) c.onError?.(err);
    });
    w.on('exit', () => {
      if (this.current !== w) return; // terminated by close()
      this.current = undefined;
      this.restartTimer = this.timers.setTimeout(() => this.restart(), RESTART_MS);
    });
    return w;
  }

  private restart(): void {
    this.restartTimer = undefined;
    if (this.clients.size === 0) return;
    this.current = this.start();
    for (const [id, c] of this.clients) c.replay(id);
  }
}

/** The process's one probe thread (health checks and scrapes). */
export const probeThread = new ProbeThread();
