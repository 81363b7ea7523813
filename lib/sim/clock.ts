// Maps model time to real time for the engines of one process: model_ms = (real_ms − t0) /
// timeScale. One timer serves every engine. It is armed for the real time of the earliest
// engine event; when it fires (late or not), each engine is advanced to the *current* model
// time, completing every step that ended meanwhile and emitting their tokens with their own
// model timestamps. Timer jitter therefore delays delivery a little but never shifts the
// model clock, and nothing drifts. Tokens are buffered per response and written once per
// tick (flush), so a slow tick costs one write per stream, not one per token.
import { performance } from 'node:perf_hooks';
import type { Engine } from './engine';

export interface Flushable {
  flush(): void;
}

const LAG_RING = 4096;

export class SimClock {
  readonly timeScale: number;
  private readonly t0 = performance.now();
  private readonly engines = new Set<Engine>();
  private readonly dirty = new Set<Flushable>();
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity; // real ms (performance.now) the timer is armed for
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;

  // Delivery lag: how late (real ms) a tick ran after the event it was armed for.
  ticks = 0;
  private readonly lag = new Float64Array(LAG_RING);
  private lagN = 0;
  lagMax = 0;

  constructor(timeScale = 1) {
    if (!(timeScale > 0)) throw new Error(`time scale must be > 0 (got ${timeScale})`);
    this.timeScale = timeScale;
  }

  /** Current model time, ms. */
  now(): number {
    return (performance.now() - this.t0) / this.timeScale;
  }
  /** Real duration (ms) of a model duration. */
  toReal(modelMs: number): number {
    return modelMs * this.timeScale;
  }

  add(e: Engine): void {
    this.engines.add(e);
    this.kick();
  }
  remove(e: Engine): void {
    this.engines.delete(e);
  }

  /** Bring one engine to the current model time (before submitting to or aborting in it). */
  sync(e: Engine): number {
    const now = this.now();
    e.advanceTo(now);
    return now;
  }

  /** A response has output to write; it is flushed at the end of this tick or on the next turn. */
  markDirty(f: Flushable): void {
    this.dirty.add(f);
    if (!this.immediate && !this.closed) this.immediate = setImmediate(() => this.tick(false));
  }

  /** Re-arm the timer after the engines' next events may have moved earlier. */
  kick(): void {
    if (this.closed) return;
    let next = Infinity;
    for (const e of this.engines) {
      const t = e.nextEventTime();
      if (t < next) next = t;
    }
    if (next === Infinity) return;
    const due = this.t0 + next * this.timeScale;
    if (this.timer && due >= this.timerDue - 0.05) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    const delay = Math.max(0, due - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick(true);
    }, delay);
    this.timer.unref();
  }

  private tick(fromTimer: boolean): void {
    this.immediate = null;
    const real = performance.now();
    if (fromTimer) {
      const late = Math.max(0, real - this.timerDue);
      this.lag[this.lagN++ % LAG_RING] = late;
      if (late > this.lagMax) this.lagMax = late;
      this.timerDue = Infinity;
    }
    this.ticks++;
    const now = (real - this.t0) / this.timeScale;
    for (const e of this.engines) e.advanceTo(now);
    for (const f of this.dirty) f.flush();
    this.dirty.clear();
    this.kick();
  }

  /** Delivery-lag percentiles over the last ticks (real ms). */
  lagStats(): { ticks: number; p50: number; p99: number; max: number } {
    const n = Math.min(this.lagN, LAG_RING);
    const a = Array.from(this.lag.subarray(0, n)).sort((x, y) => x - y);
    const q = (p: number) => (n ? a[Math.min(n - 1, Math.floor(p * n))]! : 0);
    return { ticks: this.ticks, p50: q(0.5), p99: q(0.99), max: this.lagMax };
  }

  resetLagStats(): void {
    this.lagN = 0;
    this.lagMax = 0;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.engines.clear();
  }
}
