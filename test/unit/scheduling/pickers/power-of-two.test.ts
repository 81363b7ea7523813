import t from 'tap';
import { PowerOfTwoPicker } from '../../../../lib/scheduling/pickers/power-of-two';
import type { Picker } from '../../../../lib/scheduling/types';
import { fleet, request, seeded, tallyPicks } from '../fakes';

const p: Picker = new PowerOfTwoPicker(seeded(5));

const tally = (totals: number[], n = 6000) => tallyPicks(p, fleet(totals.length), totals, n);

t.test('the worst candidate never wins; the best wins every pair it is in', async (t) => {
  const c = tally([0.5, 1, 0, 0.75]);
  t.notOk(c.b2, 'lowest total never picked');
  // b1 is in 1/2 of the pairs of 4 candidates and wins them all.
  t.ok(Math.abs(c.b1! - 3000) < 250, `b1 ${c.b1}`);
});

t.test('two candidates: always the better one', async (t) => {
  t.same(tally([0.1, 0.9], 200), { b1: 200 });
});

t.test('one candidate, no candidates', async (t) => {
  t.equal(p.pick(request(), fleet(1), new Float64Array(1), new Map())?.id, 'b0');
  t.equal(p.pick(request(), [], new Float64Array(1), new Map()), undefined);
});
