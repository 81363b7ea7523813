// A fake monotonic clock with timers, for driving the health modules in tests: time moves
// only when the test calls advance(), and due timers run in deadline order as it does.
import type { Timers } from '../../../lib/health/timers';

export class FakeClock implements Timers {
  private t = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  readonly now = (): number => this.t;

  readonly setTimeout = (fn: () => void, ms: number): number => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** Timers scheduled and not yet run or cleared. */
  get timerCount(): number {
    return this.pending.size;
  }

  /** Move time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = 0;
      let nextAt = Infinity;
      for (const [id, p] of this.pending) if (p.at < nextAt) [nextId, nextAt] = [id, p.at];
      if (nextAt > end) break;
      const due = this.pending.get(nextId)!;
      this.pending.delete(nextId);
      this.t = nextAt;
      due.fn();
    }
    this.t = end;
  }
}
