import t from 'tap';
import { WeightedRandomPicker } from '../../../../lib/scheduling/pickers/weighted-random';
import type { Picker } from '../../../../lib/scheduling/types';
import { fleet, request, seeded, tallyPicks } from '../fakes';

const p: Picker = new WeightedRandomPicker(seeded(11));

const tally = (totals: number[], n = 6000) => tallyPicks(p, fleet(totals.length), totals, n);

t.test('in proportion to total score; a zero total is never picked', async (t) => {
  const c = tally([1, 2, 0, 3]);
  t.notOk(c.b2);
  t.ok(Math.abs(c.b0! - 1000) < 150, `b0 ${c.b0}`);
  t.ok(Math.abs(c.b1! - 2000) < 200, `b1 ${c.b1}`);
  t.ok(Math.abs(c.b3! - 3000) < 220, `b3 ${c.b3}`);
});

t.test('all totals 0: uniform', async (t) => {
  const c = tally([0, 0, 0]);
  for (const id of ['b0', 'b1', 'b2']) t.ok(Math.abs(c[id]! - 2000) < 200, `${id} ${c[id]}`);
});

t.test('no candidates: undefined', async (t) => {
  t.equal(p.pick(request(), [], new Float64Array(4), new Map()), undefined);
});
