import t from 'tap';
import { kvCacheScorer } from '../../../../lib/scheduling/scorers/kv-cache';
import { fake, request, scoresOf, type FakeInit } from '../fakes';

const s = kvCacheScorer();

const cases: { name: string; input: FakeInit[]; want: number[] }[] = [
  { name: 'headroom 1 − usage, not normalised', input: [{ kvUsage: 0.25 }, { kvUsage: 0.5 }, { kvUsage: 0 }], want: [0.75, 0.5, 1] },
  { name: 'out-of-range usage is clamped', input: [{ kvUsage: 1.3 }, { kvUsage: -0.1 }], want: [0, 1] },
  { name: 'stale: unknown counts as full (0), not idle', input: [{ kvUsage: 0, stale: true }, { kvUsage: 0.75 }], want: [0, 0.25] },
  { name: 'not exported or never scraped: 0', input: [{ running: 1 }, { unscraped: true }], want: [0, 0] },
  { name: 'empty candidates', input: [], want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(scoresOf(s, request(), c.input.map((init, i) => fake(`b${i}`, init))), c.want);
  });
}
