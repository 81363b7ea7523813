import t from 'tap';
import { type HealthView, mayEject, selectAvailable } from '../../../lib/health/ejection-policy';

interface B extends HealthView {
  id: string;
}

/**
 * A pool from a compact spec, one letter a backend: `a` available, `u` unhealthy (active
 * check), `e` ejected, `d` draining.
 */
function pool(spec: string): B[] {
  return [...spec].map((c, i) => ({ id: `${c}${i}`, healthy: c !== 'u', ejected: c === 'e', draining: c === 'd' }));
}

t.test('mayEject: max_ejection_percent, at least one, never the last available', async (t) => {
  // The candidate is always the first backend of the spec.
  const table: [spec: string, percent: number, expected: boolean, why: string][] = [
    ['aaaaaaaaaa', 10, true, '10 backends, 10 %: the first ejection'],
    ['aeaaaaaaaa', 10, false, '10 %: one is already ejected'],
    ['aeaaaaaaaaaaaaaaaaaa', 10, true, '20 backends, 10 %: a second one'],
    ['aeeaaaaaaaaaaaaaaaaa', 10, false, '20 backends, 10 %: not a third'],
    ['aaa', 10, true, '3 backends: 10 % rounds down to 0, one may still go'],
    ['aea', 10, false, '3 backends: only that one'],
    ['aa', 100, true, 'two available: one may go'],
    ['a', 100, false, 'a pool of one: never'],
    ['aee', 100, false, 'the last available one: never'],
    ['auu', 100, false, 'the others fail their health checks: it is the last available'],
    ['adda', 50, true, 'draining backends do not count: 2 serving, 50 % = 1'],
    ['add', 100, false, 'draining backends are not available'],
    ['aaaaa', 0, false, '0 % disables ejection'],
    ['eaaa', 100, false, 'already ejected'],
    ['daaa', 100, false, 'draining'],
  ];
  for (const [spec, percent, expected, why] of table) {
    const backends = pool(spec);
    t.equal(mayEject(backends, backends[0], percent), expected, `${spec} @${percent}%: ${why}`);
  }
});

t.test('mayEject: an unhealthy candidate may go while another stays available', async (t) => {
  const backends = pool('ua');
  t.equal(mayEject(backends, backends[0], 100), true);
});

t.test('selectAvailable: panic boundary and draining', async (t) => {
  const table: [spec: string, threshold: number, list: string, panic: boolean, why: string][] = [
    ['aaaa', 50, 'aaaa', false, 'all available'],
    ['aaee', 50, 'aa', false, 'exactly 50 % available is not panic'],
    ['aeee', 50, 'aeee', true, 'below 50 %: spread over all'],
    ['auee', 50, 'auee', true, 'unhealthy ones count as unavailable'],
    ['aaeedd', 50, 'aa', false, 'draining ones are outside the pool: 2 of 4'],
    ['aeeedd', 50, 'aeee', true, 'panic never includes draining ones'],
    ['eeee', 50, 'eeee', true, 'all ejected: panic, not an outage'],
    ['eeee', 0, '', false, 'threshold 0: no panic, nothing to route to'],
    ['aeee', 0, 'a', false, 'threshold 0: the one available'],
    ['aaae', 100, 'aaae', true, 'threshold 100: one missing is panic'],
    ['dd', 50, '', false, 'all draining: nothing, and no panic'],
    ['', 50, '', false, 'empty pool'],
  ];
  for (const [spec, threshold, list, panic, why] of table) {
    const got = selectAvailable(pool(spec), threshold);
    t.same(
      { list: got.list.map((b) => b.id[0]).join(''), panic: got.panic },
      { list, panic },
      `${spec} @${threshold}%: ${why}`,
    );
  }
});

t.test('selectAvailable keeps the input order and objects', async (t) => {
  const backends = pool('aua');
  const { list } = selectAvailable(new Set(backends), 50);
  t.equal(list[0], backends[0]);
  t.equal(list[1], backends[2]);
});
