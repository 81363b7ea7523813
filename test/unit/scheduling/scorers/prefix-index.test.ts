// PrefixIndex footprints: the count of (block, backend) records per backend, kept exact on
// insert, replacement, eviction, expiry and removal.
import t from 'tap';
import { PrefixIndex } from '../../../../lib/scheduling/scorers/prefix-index';
import { NOW } from '../fakes';

const TTL = 8000;
const make = (maxEntries = 100, maxHolders = 2) => new PrefixIndex({ maxEntries, maxHolders, ttl: TTL });

/** Blocks [from, from + n) as hashes (any distinct numbers will do). */
const blocks = (from: number, n: number) => Float64Array.from({ length: n }, (_, i) => from + i);

type Step = ['insert', string, number, number, number?] | ['remove', string] | ['expire', number];

const cases: { name: string; steps: Step[]; want: Record<string, number>; size: number; maxEntries?: number }[] = [
  { name: 'insert counts each new record', steps: [['insert', 'a', 0, 5]], want: { a: 5, b: 0 }, size: 5 },
  { name: 'the same blocks again: no new records', steps: [['insert', 'a', 0, 5], ['insert', 'a', 0, 5, NOW + 1]], want: { a: 5 }, size: 5 },
  { name: 'a second holder of shared blocks', steps: [['insert', 'a', 0, 5], ['insert', 'b', 0, 3]], want: { a: 5, b: 3 }, size: 5 },
  {
    name: 'max_holders: the stalest holder is replaced and loses the record',
    steps: [['insert', 'a', 0, 4, NOW], ['insert', 'b', 0, 4, NOW + 1], ['insert', 'c', 0, 2, NOW + 2]],
    want: { a: 2, b: 4, c: 2 },
    size: 4,
  },
  {
    name: 'max_entries: evicted entries take their records along',
    maxEntries: 6,
    steps: [['insert', 'a', 0, 4], ['insert', 'b', 0, 4], ['insert', 'b', 100, 4]],
    want: { a: 2, b: 6 },
    size: 6,
  },
  {
    name: 'expiry: entries whose every holder is older than ttl go, with their records',
    steps: [['insert', 'a', 0, 4, NOW], ['insert', 'b', 100, 3, NOW + TTL / 2], ['expire', NOW + TTL + 1]],
    want: { a: 0, b: 3 },
    size: 3,
  },
  {
    name: 'expiry: an expired holder of a live entry goes when the entry next receives a prompt',
    steps: [['insert', 'a', 0, 4, NOW], ['insert', 'b', 0, 4, NOW + TTL / 2], ['insert', 'c', 0, 2, NOW + TTL + 1]],
    want: { a: 2, b: 4, c: 2 },
    size: 4,
  },
  {
    name: 'insert expires too',
    steps: [['insert', 'a', 0, 4, NOW], ['insert', 'b', 100, 1, NOW + 2 * TTL]],
    want: { a: 0, b: 1 },
    size: 1,
  },
  {
    name: 'remove: the backend and its records go; blocks nobody holds go',
    steps: [['insert', 'a', 0, 4], ['insert', 'b', 2, 4], ['remove', 'a']],
    want: { a: 0, b: 4 },
    size: 4,
  },
  {
    name: 'a removed backend’s slot reused by another starts at 0',
    steps: [['insert', 'a', 0, 4], ['remove', 'a'], ['insert', 'c', 10, 1]],
    want: { a: 0, c: 1 },
    size: 1,
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const idx = make(c.maxEntries);
    for (const s of c.steps) {
      if (s[0] === 'insert') idx.insert(blocks(s[2], s[3]), s[3], s[1], s[4] ?? NOW);
      else if (s[0] === 'remove') idx.remove(s[1]);
      else idx.expire(s[1]);
    }
    for (const [id, n] of Object.entries(c.want)) t.equal(idx.footprint(id), n, id);
    t.equal(idx.size, c.size, 'entries');
  });
}

t.test('random operations: footprints add up to the records, never below 0, and all go with their backends', async (t) => {
  const idx = make(50, 3);
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const ids = ['a', 'b', 'c', 'd', 'e'];
  let now = NOW;
  for (let i = 0; i < 2000; i++) {
    now += Math.floor(rnd() * 200);
    const id = ids[Math.floor(rnd() * ids.length)]!;
    if (rnd() < 0.02) idx.remove(id);
    else idx.insert(blocks(Math.floor(rnd() * 80), 1 + Math.floor(rnd() * 10)), 1 + Math.floor(rnd() * 10), id, now);
    const fp = ids.map((x) => idx.footprint(x));
    const total = fp.reduce((a, b) => a + b, 0);
    if (fp.some((x) => x < 0) || total < idx.size || total > 3 * idx.size || idx.size > 50) {
      t.fail(`step ${i}: footprints ${fp}, ${idx.size} entries`);
      return;
    }
  }
  for (const id of ids) idx.remove(id);
  t.same(ids.map((x) => idx.footprint(x)), [0, 0, 0, 0, 0]);
  t.equal(idx.size, 0);
});
