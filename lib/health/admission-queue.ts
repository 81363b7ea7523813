// The bounded wait queue in front of a saturated pool (HAProxy's server queue with
// `timeout queue`; Envoy's pending-request limit), with three priorities.
//
// A request that finds no free slot calls `enqueue` and waits; the pool calls `wakeNext`
// whenever a slot frees, which hands that slot to the oldest waiter of the highest
// priority. A waiter leaves early when:
// - its queue timeout passes: ShedError, reason `queue_timeout`;
// - the queue is full and a higher-priority request arrives: the newest waiter of the
//   lowest priority present is evicted, ShedError, reason `priority`;
// - its signal aborts (the client left): rejected with the signal's reason, not counted
//   as shed.
// An arrival into a full queue that holds nothing of lower priority is refused at once
// (ShedError, reason `queue_full`); so a sheddable request never displaces anyone.
//
// One FIFO list per priority, doubly linked, so every operation is O(1). Within a list
// deadlines grow with position (one timeout for all), so a single timer armed for the
// earliest head serves the whole queue.
import { PRIORITIES, type Priority, type QueueConfig } from '../config/schema';
import { ShedError } from '../errors';
import { type Clock, type Timers, monotonicClock, nodeTimers } from './timers';

/** Label values of `switchyard_shed_total{reason}` that the queue produces. */
export type ShedReason = 'queue_full' | 'queue_timeout' | 'priority';

const RANK: Readonly<Record<Priority, number>> = { critical: 0, standard: 1, sheddable: 2 };

interface Waiter {
  readonly rank: number;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal?: AbortSignal;
  onAbort?: () => void;
  prev?: Waiter;
  next?: Waiter;
}

class WaiterList {
  head?: Waiter;
  tail?: Waiter;
  size = 0;

  push(w: Waiter): void {
    w.prev = this.tail;
    if (this.tail) this.tail.next = w;
    else this.head = w;
    this.tail = w;
    this.size++;
  }

  remove(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = undefined;
    this.size--;
  }
}

export interface AdmissionQueueOptions {
  /** Called for every request shed by the queue (the metric). */
  onShed?: (reason: ShedReason, priority: Priority) => void;
  now?: Clock;
  timers?: Timers;
}

export class AdmissionQueue {
  private readonly lists = PRIORITIES.map(() => new WaiterList());
  private readonly max: number;
  /** Milliseconds; 0 waits without limit (the schema's "0s means none"). */
  private readonly timeout: number;
  private readonly onShed?: (reason: ShedReason, priority: Priority) => void;
  private readonly now: Clock;
  private readonly timers: Timers;
  private timer: unknown;
  private _size = 0;

  constructor(cfg: QueueConfig, opts: AdmissionQueueOptions = {}) {
    this.max = cfg.max;
    this.timeout = cfg.timeout;
    this.onShed = opts.onShed;
    this.now = opts.now ?? monotonicClock;
    this.timers = opts.timers ?? nodeTimers;
  }

  get size(): number {
    return this._size;
  }

  sizeByPriority(): Record<Priority, number> {
    return { critical: this.lists[0].size, standard: this.lists[1].size, sheddable: this.lists[2].size };
  }

  /** Wait for a slot; resolves when `wakeNext` picks this request. See the header for rejections. */
  enqueue(priority: Priority, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const rank = RANK[priority];
    if (this._size >= this.max) {
      const victim = this.lowestBelow(rank);
      if (!victim) {
        this.onShed?.('queue_full', priority);
        return Promise.reject(new ShedError('queue_full'));
      }
      this.shed(victim, 'priority');
    }
    return new Promise<void>((resolve, reject) => {
      const deadline = this.timeout > 0 ? this.now() + this.timeout : Infinity;
      const w: Waiter = { rank, deadline, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          this.detach(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.lists[rank].push(w);
      this._size++;
      this.arm();
    });
  }

  /**
   * Hand a freed slot to the oldest waiter of the highest priority. Returns false when
   * nobody waits. The waiter resumes on a later microtask, so the pool must count the slot
   * as taken now, or a newcomer could take it first.
   */
  wakeNext(): boolean {
    for (const list of this.lists) {
      const w = list.head;
      if (!w) continue;
      this.detach(w);
      w.resolve();
      return true;
    }
    return false;
  }

  /** Reject every waiter with `err` (the pool is going away); not counted as shed. */
  rejectAll(err: unknown): void {
    for (const list of this.lists) {
      while (list.head) {
        const w = list.head;
        this.detach(w);
        w.reject(err);
      }
    }
  }

  /** The newest waiter of the lowest priority strictly below `rank`, if any. */
  private lowestBelow(rank: number): Waiter | undefined {
    for (let r = this.lists.length - 1; r > rank; r--) {
      const tail = this.lists[r].tail;
      if (tail) return tail;
    }
    return undefined;
  }

  private shed(w: Waiter, reason: ShedReason): void {
    this.detach(w);
    this.onShed?.(reason, PRIORITIES[w.rank]);
    w.reject(new ShedError(reason));
  }

  private detach(w: Waiter): void {
    this.lists[w.rank].remove(w);
    this._size--;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    if (this._size === 0 && this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Make sure a timer is set for the earliest deadline (heads only: lists are in deadline order). */
  private arm(): void {
    if (this.timer !== undefined) return;
    let earliest = Infinity;
    for (const list of this.lists) if (list.head && list.head.deadline < earliest) earliest = list.head.deadline;
    if (earliest === Infinity) return;
    this.timer = this.timers.setTimeout(this.expire, Math.max(0, earliest - this.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = this.now();
    for (const list of this.lists) {
      while (list.head && list.head.deadline <= now) this.shed(list.head, 'queue_timeout');
    }
    this.arm();
  };
}
