// Histogram buckets for hot paths: a linear scan over the `le` bounds and two adds per
// observation. Counts are per bucket (not cumulative); the last slot is +Inf, and the
// exposition (prom-client's for the daemon, the simulator's own text) accumulates them.
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}
