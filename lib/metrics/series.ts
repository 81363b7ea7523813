// Counters and histograms for the per-request hot path, registered in a prom-client
// Registry, which formats them with everything else.
//
// Why: a prom-client child (`counter.labels(...).inc()`, `histogram.labels(...).observe(v)`)
// rebuilds and validates its label object and hashes it on every call (≈ 0.5 µs each,
// three per request). Here a series is a plain object found once and kept by the caller;
// `inc()` adds to a number and `observe()` bumps one bucket. The Registry only needs
// `get()` in prom-client's shape (name, help, type, values with labels and metricName),
// so the exposition text, escaping and content types stay prom-client's.

import { Buckets } from './buckets';

type Labels = Record<string, string>;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric. */
export interface RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: MetricValue[] };
  reset(): void;
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i]!;
  return labels;
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}

  inc(n = 1): void {
    this.value += n;
  }
}

/** One labelled histogram series: buckets.ts's counts with its labels. */
export class HistogramSeries extends Buckets {
  constructor(
    readonly labels: Labels,
    bounds: readonly number[],
  ) {
    super(bounds);
  }
}

abstract class Family<S extends { labels: Labels }> implements RegistryMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;
  protected readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values, created on first use. Keep it: this lookup joins strings. */
  with(...values: string[]): S {
    const key = values.join('\0');
    let s = this.series.get(key);
    if (!s) {
      s = this.create(labelsOf(this.labelNames, values));
      this.series.set(key, s);
    }
    return s;
  }

  protected abstract create(labels: Labels): S;
  protected abstract values(): MetricValue[];

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  /** Forget every series (Registry.resetMetrics). Callers holding a series keep a detached one. */
  reset(): void {
    this.series.clear();
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const;

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;

  constructor(name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[]) {
    super(name, help, labelNames);
  }

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        out.push({ value: cumulative, labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf', ...s.labels }, metricName: bucket });
      }
      out.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      out.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return out;
  }
}
