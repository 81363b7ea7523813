// Per-attempt deadlines without a Node timer per attempt.
//
// Every attempt of a pool waits for its first body byte with the same `timeouts.first_byte`,
// so deadlines added to one list arrive in order: the list is a FIFO (intrusive, doubly
// linked through the entries themselves, so adding and removing allocate nothing and cost
// O(1)), and one timer, armed for the head, serves all of it. Most entries are removed
// long before their deadline (the first byte came); the timer is not re-armed on removal,
// it re-arms itself for the new head when it fires. Deadlines fire at their time, not
// rounded: a list is exact, unlike undici's coarse fast timers.

/** Something with a deadline. The fields belong to the list while it is in one. */
export interface DeadlineEntry {
  deadlineAt: number;
  prevDeadline: DeadlineEntry | undefined;
  nextDeadline: DeadlineEntry | undefined;
  /** Whether the entry is in a list (the list sets it). */
  inDeadlines: boolean;
  onDeadline(): void;
}

export class DeadlineList {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (0: not armed). */
  private armedFor = 0;

  constructor(readonly ms: number) {}

  add(e: DeadlineEntry, now = Date.now()): void {
    if (e.inDeadlines) this.remove(e);
    e.deadlineAt = now + this.ms;
    e.inDeadlines = true;
    e.prevDeadline = this.tail;
    e.nextDeadline = undefined;
    if (this.tail) this.tail.nextDeadline = e;
    else this.head = e;
    this.tail = e;
    if (this.armedFor === 0) this.arm(e.deadlineAt, now);
  }

  remove(e: DeadlineEntry): void {
    if (!e.inDeadlines) return;
    e.inDeadlines = false;
    if (e.prevDeadline) e.prevDeadline.nextDeadline = e.nextDeadline;
    else this.head = e.nextDeadline;
    if (e.nextDeadline) e.nextDeadline.prevDeadline = e.prevDeadline;
    else this.tail = e.prevDeadline;
    e.prevDeadline = e.nextDeadline = undefined;
  }

  get size(): number {
    let n = 0;
    for (let e = this.head; e; e = e.nextDeadline) n++;
    return n;
  }

  private arm(at: number, now: number): void {
    this.armedFor = at;
    this.timer = setTimeout(fire, Math.max(0, at - now), this);
    this.timer.unref();
  }

  /** The timer: expire every due entry, then re-arm for the next one, if any. */
  expire(): void {
    this.armedFor = 0;
    this.timer = undefined;
    const now = Date.now();
    let e = this.head;
    while (e && e.deadlineAt <= now) {
      this.remove(e);
      e.onDeadline();
      e = this.head;
    }
    if (e) this.arm(e.deadlineAt, now);
  }
}

function fire(list: DeadlineList): void {
  list.expire();
}

const lists = new Map<number, DeadlineList>();

/** The shared list for deadlines `ms` from now (one per distinct timeout value). */
export function deadlinesOf(ms: number): DeadlineList {
  let list = lists.get(ms);
  if (!list) lists.set(ms, (list = new DeadlineList(ms)));
  return list;
}
