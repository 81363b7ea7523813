// A minimal Prometheus histogram (cumulative buckets rendered at scrape time). Observations
// are per token on the hot path, so this is a linear scan over ~20 bounds and two adds.
import { Buckets } from '../metrics/buckets';

// Bucket bounds in seconds, as llm-d-inference-sim (pkg/common/utils.go) and vLLM use them.
export const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0,
  640.0, 2560.0,
];
export const TPOT_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
export const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
  7680.0,
];

export class Histogram extends Buckets {
  /** Prometheus text lines for this histogram with the given label string (`a="b",c="d"`). */
  render(name: string, labels: string, out: string[]): void {
    const sep = labels ? ',' : '';
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i]!;
      out.push(`${name}_bucket{${labels}${sep}le="${fmtLe(this.bounds[i]!)}"} ${acc}`);
    }
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.count}`);
  }
}

function fmtLe(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}
