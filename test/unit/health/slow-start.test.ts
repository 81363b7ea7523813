import t from 'tap';
import { SlowStart } from '../../../lib/health/slow-start';

t.test('not ramped until begin: backends present at start get full weight', async (t) => {
  const ramp = new SlowStart({ window: 30_000, min_weight_percent: 10 });
  t.equal(ramp.factor(0), 1);
  t.equal(ramp.factor(1e9), 1);
  t.equal(ramp.endsAt, -Infinity);
});

t.test('linear from min_weight_percent to 1 over the window', async (t) => {
  const ramp = new SlowStart({ window: 30_000, min_weight_percent: 10 });
  ramp.begin(1000);
  t.equal(ramp.endsAt, 31_000);
  const table: [now: number, factor: number][] = [
    [500, 0.1], // a clock reading from before begin never goes below the minimum
    [1000, 0.1],
    [16_000, 0.55],
    [28_000, 0.91],
    [30_999, 0.1 + (0.9 * 29_999) / 30_000],
    [31_000, 1],
    [100_000, 1],
  ];
  for (const [now, factor] of table) t.ok(Math.abs(ramp.factor(now) - factor) < 1e-12, `at ${now}: ${factor}`);
});

t.test('begin restarts the ramp', async (t) => {
  const ramp = new SlowStart({ window: 10_000, min_weight_percent: 50 });
  ramp.begin(0);
  t.equal(ramp.factor(5000), 0.75);
  ramp.begin(5000);
  t.equal(ramp.factor(5000), 0.5);
  t.equal(ramp.factor(15_000), 1);
});

t.test('edge configurations', async (t) => {
  const zeroWindow = new SlowStart({ window: 0, min_weight_percent: 10 });
  zeroWindow.begin(0);
  t.equal(zeroWindow.factor(0), 1, 'a zero window means no ramp');
  const fullMin = new SlowStart({ window: 30_000, min_weight_percent: 100 });
  fullMin.begin(0);
  t.equal(fullMin.factor(1), 1, 'min 100 % is no ramp either');
  const zeroMin = new SlowStart({ window: 100, min_weight_percent: 0 });
  zeroMin.begin(0);
  t.equal(zeroMin.factor(0), 0, 'min 0 % starts from nothing');
  t.equal(zeroMin.factor(50), 0.5);
});
