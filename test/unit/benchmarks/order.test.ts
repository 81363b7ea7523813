// The benchmark's round order: every round runs every setup once; over a full cycle each
// setup holds each position, and follows each other setup, equally often.
import t from 'tap';
import { roundOrder } from '../../../benchmarks/common/order';

for (const n of [1, 2, 3, 4, 5, 6, 7]) {
  t.test(`${n} setups`, async (t) => {
    const cycle = n % 2 === 0 ? n : 2 * n;
    const rows = Array.from({ length: cycle }, (_, r) => roundOrder(n, r));
    t.ok(rows.every((row) => [...row].sort((a, b) => a - b).join() === Array.from({ length: n }, (_, i) => i).join()), 'each round is a permutation');
    const positions = new Map<string, number>();
    const follows = new Map<string, number>();
    for (const row of rows) {
      row.forEach((x, i) => positions.set(`${x}@${i}`, (positions.get(`${x}@${i}`) ?? 0) + 1));
      for (let i = 1; i < row.length; i++) follows.set(`${row[i - 1]}>${row[i]}`, (follows.get(`${row[i - 1]}>${row[i]}`) ?? 0) + 1);
    }
    t.equal(new Set(positions.values()).size, 1, 'every setup in every position equally often');
    t.equal(positions.size, n * n);
    if (n > 1) {
      t.equal(follows.size, n * (n - 1), 'every ordered pair of neighbours occurs');
      t.equal(new Set(follows.values()).size, 1, 'and equally often');
    }
    t.same(roundOrder(n, cycle + 1), rows[1 % cycle], 'the design repeats');
  });
}

t.test('no setups, no order', async (t) => {
  t.same(roundOrder(0, 3), []);
});
