// WeightTable (lib/routing/split.ts): the weighted choice behind blue/green splits.
// - pick(): proportions over 10,000 picks within 2 percentage points of the weights;
// - pickSticky(): weighted rendezvous hashing. A key keeps its side for 100% of keys while
//   the weights stand (and every instance agrees), and a weight change moves only the keys
//   that must move: 10% -> 20% green moves ~10% of all keys (~11% of blue's), all of them
//   blue -> green, none back.
import t, { type Test } from 'tap';
import { WeightTable, type WeightedSide } from '../../../lib/routing/split';

type Weights = Record<string, number>;
const table = (w: Weights) => new WeightTable(Object.entries(w).map(([name, weight]) => ({ name, weight, target: name })));

const N = 10_000;
const KEYS = Array.from({ length: N }, (_, i) => `session-${i}-${(i * 2654435761) % 1_000_003}`);

function shares(picks: readonly WeightedSide<string>[], names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const p of picks) counts[p.name] = (counts[p.name] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([n, c]) => [n, c / picks.length]));
}

/** Asserts each side's share is within `pp` percentage points of its weight's share. */
function assertProportions(t: Test, got: Record<string, number>, w: Weights, pp: number, what: string) {
  const total = Object.values(w).reduce((a, b) => a + b, 0);
  for (const [name, weight] of Object.entries(w)) {
    const want = weight / total;
    const diff = Math.abs((got[name] ?? 0) - want) * 100;
    t.ok(diff <= pp, `${what}: ${name} got ${((got[name] ?? 0) * 100).toFixed(2)}%, weight says ${(want * 100).toFixed(2)}% (|Δ| ${diff.toFixed(2)} pp ≤ ${pp} pp)`);
  }
}

t.test('pick(): 10,000 independent picks follow the weights within 2 pp', async (t) => {
  for (const w of [
    { blue: 90, green: 10 },
    { blue: 50, green: 50 },
    { blue: 1, green: 3 },
    { a: 70, b: 20, c: 10 },
  ] as Weights[]) {
    const wt = table(w);
    const picks = Array.from({ length: N }, () => wt.pick());
    assertProportions(t, shares(picks, Object.keys(w)), w, 2, `Math.random ${JSON.stringify(w)}`);
  }
});

t.test('pick(r): a uniform r gives the exact proportions; edges go to the right side', async (t) => {
  const wt = table({ blue: 90, green: 10 });
  const picks = Array.from({ length: N }, (_, i) => wt.pick((i + 0.5) / N));
  t.same(shares(picks, ['blue', 'green']), { blue: 0.9, green: 0.1 }, 'evenly spread r: exactly 90/10');
  t.equal(wt.pick(0).name, 'blue', 'r = 0 takes the first side');
  t.equal(wt.pick(0.8999).name, 'blue', 'r just below the boundary stays on the first side');
  t.equal(wt.pick(0.9).name, 'green', 'r at the boundary takes the next side');
  t.equal(wt.pick(1 - Number.EPSILON).name, 'green', 'r just below 1 takes the last side');
});

t.test('weights are relative; a side with weight 0 gets nothing', async (t) => {
  const a = table({ blue: 90, green: 10 });
  const b = table({ blue: 9, green: 1 });
  for (let i = 0; i < 1000; i++) {
    const r = i / 1000;
    if (a.pick(r).name !== b.pick(r).name) t.fail(`{90,10} and {9,1} differ at r=${r}`);
  }
  let differ = 0;
  for (const k of KEYS) if (a.pickSticky(k).name !== b.pickSticky(k).name) differ++;
  t.equal(differ, 0, '{90,10} and {9,1} give every sticky key the same side');

  const zero = table({ blue: 100, green: 0 });
  t.equal(Array.from({ length: N }, () => zero.pick()).filter((s) => s.name === 'green').length, 0, 'no random pick of a 0-weight side');
  t.equal(zero.pick(1 - Number.EPSILON).name, 'blue', 'not even at r → 1');
  t.equal(KEYS.filter((k) => zero.pickSticky(k).name === 'green').length, 0, 'no sticky key lands on a 0-weight side');
  t.same(zero.sides.map((s) => [s.name, s.weight]), [['blue', 100], ['green', 0]], 'the 0-weight side is still listed (for /routes)');

  t.throws(() => table({ blue: 0, green: 0 }), /weight > 0/, 'an all-zero table is refused');
  t.throws(() => table({}), /weight > 0/, 'an empty table is refused');
});

t.test('pickSticky(): sticky choices follow the weights within 2 pp over 10,000 keys', async (t) => {
  for (const w of [
    { blue: 90, green: 10 },
    { blue: 80, green: 20 },
    { blue: 50, green: 50 },
    { a: 60, b: 30, c: 10 },
  ] as Weights[]) {
    const wt = table(w);
    assertProportions(t, shares(KEYS.map((k) => wt.pickSticky(k)), Object.keys(w)), w, 2, `sticky ${JSON.stringify(w)}`);
  }
});

t.test('pickSticky(): 100% of keys keep their side while the weights stand, on every instance', async (t) => {
  const w = { blue: 90, green: 10 };
  const first = table(w);
  const again = table(w);
  const reordered = new WeightTable([
    { name: 'green', weight: 10, target: 'green' },
    { name: 'blue', weight: 90, target: 'blue' },
  ]);
  let sameTwice = 0;
  let sameInstance = 0;
  let sameOrder = 0;
  for (const k of KEYS) {
    const side = first.pickSticky(k).name;
    if (first.pickSticky(k).name === side) sameTwice++;
    if (again.pickSticky(k).name === side) sameInstance++;
    if (reordered.pickSticky(k).name === side) sameOrder++;
  }
  t.equal(sameTwice, N, 'the same table gives every key the same side each time');
  t.equal(sameInstance, N, 'a second table with the same weights (another instance) agrees on every key');
  t.equal(sameOrder, N, 'the order sides are listed in does not matter');
});

t.test('pickSticky(): 10% -> 20% green moves the minimum, blue -> green only', async (t) => {
  const before = table({ blue: 90, green: 10 });
  const after = table({ blue: 80, green: 20 });
  let blueBefore = 0;
  let blueToGreen = 0;
  let greenToBlue = 0;
  let greenAfter = 0;
  for (const k of KEYS) {
    const b = before.pickSticky(k).name;
    const a = after.pickSticky(k).name;
    if (b === 'blue') blueBefore++;
    if (b === 'blue' && a === 'green') blueToGreen++;
    if (b === 'green' && a === 'blue') greenToBlue++;
    if (a === 'green') greenAfter++;
  }
  const movedOfAll = blueToGreen / N;
  const movedOfBlue = blueToGreen / blueBefore;
  t.equal(greenToBlue, 0, 'no key moves from green back to blue');
  t.equal(blueToGreen, greenAfter - (N - blueBefore), "the keys that moved are exactly green's net gain: no move that was not needed");
  t.ok(Math.abs(movedOfAll - 0.1) <= 0.015, `${(movedOfAll * 100).toFixed(2)}% of all keys moved (minimum possible: 10%, ±1.5 pp)`);
  t.ok(Math.abs(movedOfBlue - 1 / 9) <= 0.02, `${(movedOfBlue * 100).toFixed(2)}% of blue's keys moved (minimum possible: 11.1%, ±2 pp)`);
});

t.test('pickSticky(): a canary ramp 0 -> 10 -> 50 -> 100 only ever moves keys toward green', async (t) => {
  const steps = [0, 10, 50, 100].map((g) => table({ blue: 100 - g, green: g }));
  for (let s = 1; s < steps.length; s++) {
    let backwards = 0;
    let moved = 0;
    for (const k of KEYS) {
      const prev = steps[s - 1]!.pickSticky(k).name;
      const next = steps[s]!.pickSticky(k).name;
      if (prev === 'green' && next === 'blue') backwards++;
      if (prev !== next) moved++;
    }
    t.equal(backwards, 0, `step ${s}: no key goes back to blue`);
    const want = [0, 0.1, 0.4, 0.5][s]!;
    t.ok(Math.abs(moved / N - want) <= 0.02, `step ${s}: ${((moved / N) * 100).toFixed(2)}% of keys moved (the minimum is ${want * 100}%)`);
  }
  t.equal(KEYS.filter((k) => steps[3]!.pickSticky(k).name === 'green').length, N, 'at 100% every key is on green');
});

t.test('pickSticky(): adding a side takes keys only for itself; removing one moves only its keys', async (t) => {
  const two = table({ blue: 50, green: 50 });
  const three = table({ blue: 50, green: 50, canary: 25 });
  let toOther = 0;
  let toCanary = 0;
  for (const k of KEYS) {
    const a = two.pickSticky(k).name;
    const b = three.pickSticky(k).name;
    if (b === 'canary') toCanary++;
    else if (a !== b) toOther++;
  }
  t.equal(toOther, 0, 'no key moves between blue and green when a side is added');
  t.ok(Math.abs(toCanary / N - 0.2) <= 0.02, `the new side took ${((toCanary / N) * 100).toFixed(2)}% of keys (its share: 20%)`);

  const removed = table({ blue: 50, green: 50, canary: 0 });
  let moved = 0;
  for (const k of KEYS) {
    const b = three.pickSticky(k).name;
    const c = removed.pickSticky(k).name;
    if (b !== 'canary' && b !== c) moved++;
  }
  t.equal(moved, 0, 'setting a side to 0 moves only the keys it had');
});
