// Time source for the agent's timers (TTL expiry, HTTP/TCP check intervals, deferred output
// sync, DeregisterCriticalServiceAfter). Blocking-query timeouts always use real time: a
// `wait=1s` must really take a second on the wire.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): Timer;
}

export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(fn: () => void, ms: number): Timer {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  }
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that only moves when the test calls advance(): TTLs and intervals become deterministic. */
export class ManualClock implements Clock {
  private current = 0;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.add(entry);
    return { cancel: () => this.pending.delete(entry) };
  }

  /** Moves time forward, firing due timers in order (including timers they schedule within the window). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= target && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.pending.delete(next);
      this.current = next.at;
      next.fn();
    }
    this.current = target;
  }
}
