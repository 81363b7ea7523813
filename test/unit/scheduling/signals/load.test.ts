import t from 'tap';
import { estimatedQueue, isSaturated } from '../../../../lib/scheduling/signals/load';
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
