import t from 'tap';
import { SaturationTest, estimatedQueue, isSaturated } from '../../../../lib/scheduling/signals/load';
import { NOW, fake, type FakeInit } from '../fakes';

t.test('estimatedQueue', async (t) => {
  const cases: { name: string; init: FakeInit; want: number | undefined }[] = [
    { name: 'scraped waiting, nothing sent since', init: { waiting: 4, inflight: 2, inflightAtScrape: 2 }, want: 4 },
    { name: 'plus requests sent since the scrape', init: { waiting: 4, inflight: 7, inflightAtScrape: 2 }, want: 9 },
    { name: 'minus requests finished since, clamped at 0', init: { waiting: 1, inflight: 0, inflightAtScrape: 5 }, want: 0 },
    { name: 'no in-flight snapshot: waiting as scraped', init: { waiting: 3, inflight: 8 }, want: 3 },
    { name: 'stale: unknown', init: { waiting: 0, stale: true }, want: undefined },
    { name: 'never scraped: unknown', init: { unscraped: true }, want: undefined },
    { name: 'engine without a queue metric: unknown', init: { running: 3 }, want: undefined },
  ];
  for (const c of cases) t.equal(estimatedQueue(fake('b', c.init), NOW), c.want, c.name);
});

t.test('isSaturated', async (t) => {
  const lim = { queue: 5, kv: 0.8, inflight: 10 };
  const cases: { name: string; init: FakeInit; want: boolean }[] = [
    { name: 'idle', init: { waiting: 0, kvUsage: 0.1, inflight: 1 }, want: false },
    { name: 'queue at the threshold', init: { waiting: 5 }, want: true },
    { name: 'estimated queue reaches it between scrapes', init: { waiting: 2, inflightAtScrape: 0, inflight: 3 }, want: true },
    { name: 'KV at the threshold', init: { kvUsage: 0.8 }, want: true },
    { name: 'local in-flight at the breaker limit', init: { inflight: 10 }, want: true },
    { name: 'stale queue and KV are unknown, not saturated', init: { waiting: 50, kvUsage: 1, stale: true }, want: false },
    { name: 'stale, but the local limit still applies', init: { stale: true, inflight: 10 }, want: true },
  ];
  for (const c of cases) t.equal(isSaturated(fake('b', c.init), NOW, lim), c.want, c.name);
  t.equal(isSaturated(fake('b', { inflight: 10_000 }), NOW, { ...lim, inflight: 0 }), false, 'in-flight limit 0 = none');
});

t.test('SaturationTest: slow = fresh ITL above slow_factor × the lower median of the candidates', async (t) => {
  const lim = { queue: 5, kv: 0.8, inflight: 0 };
  const cases: { name: string; itl: (number | undefined)[]; stale?: number[]; factor?: number; want: boolean[] }[] = [
    { name: 'one of eight 3× slower', itl: [0.01, 0.011, 0.009, 0.01, 0.012, 0.01, 0.01, 0.03], want: [false, false, false, false, false, false, false, true] },
    { name: 'two candidates: the lower median is the faster one', itl: [0.01, 0.03], want: [false, true] },
    { name: 'exactly 2× is not slow', itl: [0.01, 0.02], want: [false, false] },
    { name: 'half the pool slow still stands out against the lower median', itl: [0.03, 0.01, 0.03, 0.01], want: [true, false, true, false] },
    { name: 'a single known ITL: no reference, nobody slow', itl: [undefined, 0.05, undefined], want: [false, false, false] },
    { name: 'stale ITL is unknown: not slow, and not in the median', itl: [0.01, 0.05, 0.05, 0.05], stale: [1, 2], want: [false, false, false, true] },
    { name: 'slow_factor 0: off', itl: [0.01, 0.01, 0.1], factor: 0, want: [false, false, false] },
    { name: 'slow_factor 4: 3× passes', itl: [0.01, 0.01, 0.03], factor: 4, want: [false, false, false] },
    { name: 'a zero median is no reference', itl: [0, 0, 0.01], want: [false, false, false] },
  ];
  for (const c of cases) {
    const bs = c.itl.map((itl, i) => fake(`b${i}`, { itl, waiting: 0, stale: c.stale?.includes(i) }));
    const test = new SaturationTest(lim, c.factor ?? 2);
    test.begin(bs, NOW);
    t.same(bs.map((b) => test.slow(b)), c.want, c.name);
    t.same(bs.map((b) => test.saturated(b)), c.want, `${c.name}: slow is saturated`);
  }
});

t.test('SaturationTest: saturated also by queue, KV and in-flight; the reference is per cycle', async (t) => {
  const test = new SaturationTest({ queue: 5, kv: 0.8, inflight: 10 }, 2);
  const bs = [fake('q', { waiting: 5, itl: 0.01 }), fake('kv', { kvUsage: 0.9, itl: 0.01 }), fake('n', { inflight: 10, itl: 0.01 }), fake('ok', { waiting: 0, itl: 0.015 })];
  test.begin(bs, NOW);
  t.same(bs.map((b) => test.saturated(b)), [true, true, true, false]);
  t.equal(test.slow(bs[3]!), false);
  test.begin([bs[3]!, fake('fast', { itl: 0.005 })], NOW);
  t.equal(test.slow(bs[3]!), true, 'among other candidates, 0.015 is 3× the lower median 0.005');
});
