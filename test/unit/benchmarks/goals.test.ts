// bench:proxy's verdicts: PASS or FAIL only when the middle half of the rounds agrees,
// 'within noise' when the target lies inside it.
import t from 'tap';
import { check, GOALS } from '../../../benchmarks/proxy/goals';
import { Samples } from '../../../benchmarks/proxy/samples';
import { bare } from '../../../benchmarks/proxy/setups/bare';
import { switchyard } from '../../../benchmarks/proxy/setups/switchyard';

const cpu64 = GOALS.find((g) => g.scenario === 'small-64' && g.metric === 'cpu')!; // ≤ 1.15× bare
const rss = GOALS.find((g) => g.metric === 'kib')!; // ≤ 20 KiB, one measurement

/** Samples whose per-round Switchyard ÷ bare CPU ratios are `ratios`. */
function rounds(ratios: number[]): Samples {
  const s = new Samples();
  ratios.forEach((r, i) => {
    s.add('small-64', switchyard.name, i, { cpu: 100 * r });
    s.add('small-64', bare.name, i, { cpu: 100 });
  });
  return s;
}

const cases: [string, number[], string, number][] = [
  ['every round under the bound', [1.02, 1.05, 1.08, 1.1, 1.12], 'PASS', 1.08],
  ['every round over it', [1.18, 1.2, 1.25, 1.3, 1.4], 'FAIL', 1.25],
  ['middle rounds on both sides, median under', [0.9, 1.1, 1.12, 1.2, 1.4], 'within noise', 1.12],
  ['middle rounds on both sides, median over', [0.9, 1.1, 1.18, 1.2, 1.4], 'within noise', 1.18],
  ['outliers outside the middle half do not decide', [0.5, 1.05, 1.06, 1.1, 3], 'PASS', 1.06],
];

for (const [name, ratios, outcome, median] of cases) {
  t.test(name, async (t) => {
    const v = check(cpu64, rounds(ratios));
    t.equal(v.outcome, outcome);
    t.ok(Math.abs(v.measured! - median) < 1e-9, `median ${v.measured} = ${median}`);
  });
}

t.test('a figure measured once is PASS or FAIL', async (t) => {
  const s = new Samples();
  s.add('idle-1000', switchyard.name, 0, { kib: 19.5 });
  t.equal(check(rss, s).outcome, 'PASS');
  const over = new Samples();
  over.add('idle-1000', switchyard.name, 0, { kib: 21 });
  t.equal(check(rss, over).outcome, 'FAIL');
});

t.test('no reference figure: skipped, not judged', async (t) => {
  const s = new Samples();
  s.add('small-64', switchyard.name, 0, { cpu: 100 });
  t.match(check(cpu64, s), { skipped: /no bare Node figure/ });
});
