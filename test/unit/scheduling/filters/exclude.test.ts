import t from 'tap';
import { ExcludeFilter } from '../../../../lib/scheduling/filters/exclude';
import { NOW, fleet, ids, request } from '../fakes';

const f = new ExcludeFilter();
const bs = fleet(3);

const cases: { name: string; exclude?: string[]; input?: typeof bs; want: string[] }[] = [
  { name: 'no exclude set', want: ['b0', 'b1', 'b2'] },
  { name: 'empty exclude set', exclude: [], want: ['b0', 'b1', 'b2'] },
  { name: 'drops tried backends, order kept', exclude: ['b1'], want: ['b0', 'b2'] },
  { name: 'ids not in the set are ignored', exclude: ['zz', 'b0'], want: ['b1', 'b2'] },
  { name: 'all tried: keeps them all rather than none', exclude: ['b0', 'b1', 'b2'], want: ['b0', 'b1', 'b2'] },
  { name: 'empty candidates', exclude: ['b0'], input: [], want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const req = request({ exclude: c.exclude && new Set(c.exclude) });
    t.same(ids(f.filter(req, c.input ?? bs, new Map(), NOW)), c.want);
  });
}

t.test('returns the input itself when nothing is dropped (no allocation)', async (t) => {
  t.equal(f.filter(request({ exclude: new Set(['x']) }), bs, new Map(), NOW), bs);
});
