import t from 'tap';
import { MaxScorePicker } from '../../../../lib/scheduling/pickers/max-score';
import type { Picker } from '../../../../lib/scheduling/types';
import { fleet, request, seeded, tallyPicks } from '../fakes';

const p: Picker = new MaxScorePicker(seeded(7));
const pick = (totals: number[]) => p.pick(request(), fleet(totals.length), Float64Array.from([...totals, 99]), new Map())?.id;

const cases = [
  { name: 'the highest total', totals: [0.2, 1.5, 0.7], want: 'b1' },
  { name: 'first and last positions work too', totals: [3, 1, 2], want: 'b0' },
  { name: 'trailing buffer entries beyond the candidates are ignored', totals: [0, 1], want: 'b1' },
  { name: 'one candidate', totals: [0], want: 'b0' },
  { name: 'no candidates', totals: [], want: undefined },
];

for (const c of cases) t.test(c.name, async (t) => t.equal(pick(c.totals), c.want));

t.test('ties are shared evenly (uniformly at random)', async (t) => {
  const count = tallyPicks(p, fleet(4), [1, 0.5, 1, 1], 3000);
  t.notOk(count.b1, 'never the lower score');
  for (const id of ['b0', 'b2', 'b3']) t.ok(Math.abs(count[id]! - 1000) < 120, `${id}: ${count[id]}`);
});
