import t from 'tap';
import { fmix32, hash32, hash53 } from '../../../lib/scheduling/hash';

t.test('golden values: every instance and version must agree', async (t) => {
  // Changing these reshuffles every session across a fleet during a rolling upgrade.
  t.equal(hash32(''), 0);
  t.equal(hash32('a'), 721651713);
  t.equal(hash32('session-1'), 896674475);
  t.equal(hash53('0123456789abcdef', 0), 6952117165695939);
});

t.test('a range hashes like the substring', async (t) => {
  const s = 'prefix|the block|suffix';
  t.equal(hash32(s, 7, 7, 16), hash32('the block', 7));
  t.equal(hash53(s, 99, 7, 16), hash53('the block', 99));
});

t.test('seed and chain change the value', async (t) => {
  t.not(hash32('x', 1), hash32('x', 2));
  t.not(hash53('block', 1), hash53('block', 2));
});

t.test('hash53 stays a safe integer and uses the high bits', async (t) => {
  let high = 0;
  let safe = 0;
  let h = 0;
  for (let i = 0; i < 1000; i++) {
    h = hash53(`block ${i}`, h);
    if (Number.isSafeInteger(h) && h >= 0) safe++;
    if (h >= 2 ** 52) high++;
  }
  t.equal(safe, 1000);
  t.ok(high > 400 && high < 600, `top bit set in ${high}/1000`);
});

t.test('fmix32 spreads sequential inputs across the range', async (t) => {
  const buckets = new Array(16).fill(0);
  for (let i = 0; i < 16_000; i++) buckets[fmix32(i) >>> 28]++;
  t.ok(buckets.every((n) => n > 850 && n < 1150), buckets.join(' '));
});
