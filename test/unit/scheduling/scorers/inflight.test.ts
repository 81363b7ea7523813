import t from 'tap';
import { InflightScorer } from '../../../../lib/scheduling/scorers/inflight';
import { fake, request, scoresOf, type FakeInit } from '../fakes';

const s = new InflightScorer();

const cases: { name: string; input: FakeInit[]; want: number[] }[] = [
  { name: 'fewest in flight scores 1, most 0, linear between', input: [{ inflight: 10 }, { inflight: 5 }, { inflight: 0 }], want: [0, 0.5, 1] },
  { name: 'all equal: neutral 1', input: [{ inflight: 3 }, { inflight: 3 }], want: [1, 1] },
  { name: 'per unit of weight: 4 on weight 2 equals 2 on weight 1', input: [{ inflight: 4, weight: 2 }, { inflight: 2 }, { inflight: 6 }], want: [1, 1, 0] },
  { name: 'scraped signals, fresh or stale, are ignored', input: [{ inflight: 1, waiting: 100 }, { inflight: 2, stale: true }], want: [1, 0] },
  { name: 'one candidate', input: [{ inflight: 7 }], want: [1] },
  { name: 'empty candidates', input: [], want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(scoresOf(s, request(), c.input.map((init, i) => fake(`b${i}`, init))), c.want);
  });
}
