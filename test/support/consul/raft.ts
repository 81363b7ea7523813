// One datacenter's Raft log, reduced to what blocking queries observe: a monotonically
// increasing index (unless a "snapshot restore" moves it back) and a wake-up for every
// committed write. Readers re-run their query on each wake-up and compare their own index.

export class Raft {
  private current: number;
  private readonly watchers = new Set<() => void>();
  private readonly restoreHooks: Array<(index: number) => void> = [];

  constructor(initialIndex: number) {
    this.current = initialIndex;
  }

  get index(): number {
    return this.current;
  }

  /**
   * Runs one transaction at the next index. `apply` returns whether it changed anything:
   * an idempotent write commits nothing, so no table index moves and no watcher wakes.
   */
  write(apply: (index: number) => boolean): boolean {
    const changed = apply(this.current + 1);
    if (changed) {
      this.current += 1;
      this.notify();
    }
    return changed;
  }

  /** Registers a state owner that clamps its stored indexes when a restore moves the log back. */
  onRestore(hook: (index: number) => void): void {
    this.restoreHooks.push(hook);
  }

  /** Sets the log to `index` as a snapshot restore would; state newer than it is clamped down to it. */
  restore(index: number): void {
    this.current = Math.max(1, Math.floor(index));
    for (const hook of this.restoreHooks) hook(this.current);
    this.notify();
  }

  subscribe(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  notify(): void {
    for (const fn of [...this.watchers]) fn();
  }
}

/** Consul never reports index 0 (agent/http.go setIndex, rpc.go SetQueryMeta). */
export function reportedIndex(index: number): number {
  return Math.max(1, index);
}
