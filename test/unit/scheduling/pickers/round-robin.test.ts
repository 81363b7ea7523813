import t from 'tap';
import { RoundRobinPicker } from '../../../../lib/scheduling/pickers/round-robin';
import type { BackendView, Picker } from '../../../../lib/scheduling/types';
import { fleet, request } from '../fakes';

const run = (p: Picker, bs: readonly BackendView[], n: number) =>
  Array.from({ length: n }, () => p.pick(request(), bs, new Float64Array(bs.length), new Map())!.id);

t.test('equal weights: strict rotation', async (t) => {
  t.same(run(new RoundRobinPicker(), fleet(3), 6), ['b0', 'b1', 'b2', 'b0', 'b1', 'b2']);
});

t.test('weights 5:1:1 interleave smoothly', async (t) => {
  const bs = fleet(3, (i) => ({ weight: [5, 1, 1][i] }));
  t.same(run(new RoundRobinPicker(), bs, 7), ['b0', 'b0', 'b1', 'b0', 'b2', 'b0', 'b0']);
});

t.test('the rotation survives changing candidate sets', async (t) => {
  const p = new RoundRobinPicker();
  const bs = fleet(3);
  const got = [...run(p, bs, 2), ...run(p, [bs[0]!, bs[2]!], 2), ...run(p, bs, 3)];
  const count = (id: string) => got.filter((x) => x === id).length;
  t.ok(Math.abs(count('b0') - count('b2')) <= 1, got.join(' '));
  t.ok(count('b1') >= 2, got.join(' '));
});

t.test('removeBackend resets its counter', async (t) => {
  const p = new RoundRobinPicker();
  const bs = fleet(2);
  run(p, bs, 1);
  p.removeBackend('b0');
  p.removeBackend('b1');
  t.same(run(p, bs, 2), ['b0', 'b1']);
});

t.test('no candidates: undefined', async (t) => {
  t.equal((new RoundRobinPicker() as Picker).pick(request(), [], new Float64Array(0), new Map()), undefined);
});
