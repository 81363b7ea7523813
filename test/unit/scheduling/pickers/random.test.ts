import t from 'tap';
import { RandomPicker } from '../../../../lib/scheduling/pickers/random';
import type { Picker } from '../../../../lib/scheduling/types';
import { fleet, request, seeded, tallyPicks } from '../fakes';

const pickerWith = (random: () => number): Picker => new RandomPicker(random);
const p = pickerWith(seeded(3));

t.test('in proportion to effective weight, scores ignored', async (t) => {
  const bs = fleet(3, (i) => ({ weight: [1, 2, 5][i] }));
  const count = tallyPicks(p, bs, [9, 0, 0], 8000);
  t.ok(Math.abs(count.b0! - 1000) < 150, `b0 ${count.b0}`);
  t.ok(Math.abs(count.b1! - 2000) < 200, `b1 ${count.b1}`);
  t.ok(Math.abs(count.b2! - 5000) < 250, `b2 ${count.b2}`);
});

t.test('the edge of the range picks the last candidate', async (t) => {
  t.equal(pickerWith(() => 0.9999999999).pick(request(), fleet(3), new Float64Array(3), new Map())?.id, 'b2');
  t.equal(pickerWith(() => 0).pick(request(), fleet(3), new Float64Array(3), new Map())?.id, 'b0');
});

t.test('no candidates: undefined', async (t) => {
  t.equal(p.pick(request(), [], new Float64Array(0), new Map()), undefined);
});
