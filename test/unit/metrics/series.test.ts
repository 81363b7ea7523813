// The hot-path metric families: what a Registry prints for them is what prom-client prints
// for its own Counter and Histogram with the same names, labels and observations.
import t from 'tap';
import { Counter, Histogram, Registry, type Metric } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../../../lib/metrics/series';
import { Metrics } from '../../../lib/metrics/registry';

const BOUNDS = [0.01, 0.1, 1];

function ours() {
  const registry = new Registry();
  const counter = new CounterFamily('c_total', 'a counter', ['route', 'code']);
  const histogram = new HistogramFamily('h_seconds', 'a histogram', ['route'], BOUNDS);
  registry.registerMetric(counter as unknown as Metric);
  registry.registerMetric(histogram as unknown as Metric);
  return { registry, counter, histogram };
}

function theirs() {
  const registry = new Registry();
  const counter = new Counter({ name: 'c_total', help: 'a counter', labelNames: ['route', 'code'], registers: [registry] });
  const histogram = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['route'], buckets: BOUNDS, registers: [registry] });
  return { registry, counter, histogram };
}

t.test('exposition text equals prom-client for the same observations', async (t) => {
  const a = ours();
  const b = theirs();
  // Values on bucket bounds (le is inclusive), between, above the last bound, and label
  // values that need escaping.
  const observations: [string, number][] = [
    ['r1', 0.01],
    ['r1', 0.05],
    ['r1', 5],
    ['we"ird\\route\n', 0.1],
    ['r1', 0],
  ];
  for (const [route, v] of observations) {
    a.histogram.with(route).observe(v);
    b.histogram.labels(route).observe(v);
    a.counter.with(route, '200').inc();
    b.counter.labels(route, '200').inc();
  }
  a.counter.with('r1', '503').inc(3);
  b.counter.labels('r1', '503').inc(3);
  t.equal(await a.registry.metrics(), await b.registry.metrics());
});

t.test('a series is found once and kept; reset forgets every series', async (t) => {
  const { counter, registry } = ours();
  const s = counter.with('r', '200');
  t.equal(counter.with('r', '200'), s, 'the same labels give the same series');
  t.not(counter.with('r', '500'), s, 'other labels, another series');
  s.inc();
  t.match(await registry.metrics(), /c_total\{route="r",code="200"\} 1/);
  registry.resetMetrics();
  t.notMatch(await registry.metrics(), /code="200"/, 'reset: nothing left to print');
});

t.test('Metrics.requestDone: requests, duration, and time to first byte only when a byte was sent', async (t) => {
  const m = new Metrics({ defaultMetrics: false });
  m.requestDone('chat', 'blue', 'b1', 200, 0.2, 0.05);
  m.requestDone('chat', 'blue', 'b1', 200, 0.3, 0.06);
  m.requestDone('chat', 'blue', 'b2', 502, 0.001, -1);
  const text = await m.text();
  t.match(text, /switchyard_requests_total\{route="chat",pool="blue",backend="b1",code="200"\} 2/);
  t.match(text, /switchyard_requests_total\{route="chat",pool="blue",backend="b2",code="502"\} 1/);
  t.match(text, /switchyard_request_duration_seconds_count\{route="chat",pool="blue"\} 3/);
  t.match(text, /switchyard_time_to_first_byte_seconds_count\{route="chat",pool="blue"\} 2/, 'ttfb < 0 is not observed');
  t.match(text, /# TYPE switchyard_request_duration_seconds histogram/);
});
