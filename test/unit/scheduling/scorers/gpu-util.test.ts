import t from 'tap';
import { gpuUtilScorer } from '../../../../lib/scheduling/scorers/gpu-util';
import { fake, request, scoresOf, type FakeInit } from '../fakes';

const s = gpuUtilScorer();

const cases: { name: string; input: FakeInit[]; want: number[] }[] = [
  { name: 'idleness 1 − utilisation', input: [{ gpuUtil: 0.75 }, { gpuUtil: 0.25 }, { gpuUtil: 0 }], want: [0.25, 0.75, 1] },
  { name: 'KV usage does not count', input: [{ gpuUtil: 0.5, kvUsage: 1 }], want: [0.5] },
  { name: 'stale: 0', input: [{ gpuUtil: 0, stale: true }], want: [0] },
  { name: 'no DCGM series: 0', input: [{ kvUsage: 0.1 }], want: [0] },
  { name: 'empty candidates', input: [], want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(scoresOf(s, request(), c.input.map((init, i) => fake(`b${i}`, init))), c.want);
  });
}
