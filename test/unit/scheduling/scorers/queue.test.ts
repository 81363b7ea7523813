import t from 'tap';
import { QueueScorer } from '../../../../lib/scheduling/scorers/queue';
import { fake, request, scoresOf, type FakeInit } from '../fakes';

const s = new QueueScorer();

const cases: { name: string; input: FakeInit[]; want: number[] }[] = [
  { name: 'shortest scraped queue scores 1, longest 0', input: [{ waiting: 10 }, { waiting: 5 }, { waiting: 0 }], want: [0, 0.5, 1] },
  { name: 'equal queues: neutral 1', input: [{ waiting: 4 }, { waiting: 4 }], want: [1, 1] },
  {
    name: 'requests sent since the scrape count: waiting + (inflight − inflightAtScrape)',
    input: [{ waiting: 2, inflightAtScrape: 1, inflight: 5 }, { waiting: 4, inflightAtScrape: 3, inflight: 3 }, { waiting: 10 }],
    want: [(10 - 6) / 6, 1, 0],
  },
  {
    name: 'requests finished since the scrape: clamped at 0',
    input: [{ waiting: 1, inflightAtScrape: 9, inflight: 0 }, { waiting: 2 }],
    want: [1, 0],
  },
  {
    name: 'stale signals: local in-flight stands in, never idle',
    input: [{ waiting: 0, inflight: 4, stale: true }, { waiting: 2 }],
    want: [0, 1],
  },
  { name: 'never scraped: local in-flight', input: [{ unscraped: true, inflight: 1 }, { unscraped: true, inflight: 3 }], want: [1, 0] },
  { name: 'engine exports no queue: local in-flight', input: [{ running: 3, inflight: 0 }, { waiting: 1 }], want: [1, 0] },
  { name: 'empty candidates', input: [], want: [] },
  { name: 'equal queues: fewer local in-flight wins the tie', input: [{ waiting: 0, inflight: 9 }, { waiting: 0, inflight: 2 }], want: [0, 1] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    // The in-flight tie-break moves scores by at most ~1% when queues differ.
    const got = scoresOf(s, request(), c.input.map((init, i) => fake(`b${i}`, init)));
    t.equal(got.length, c.want.length);
    got.forEach((v, i) => t.ok(Math.abs(v - c.want[i]!) < 0.01, `score ${i}: ${v} ≈ ${c.want[i]}`));
  });
}
