import t from 'tap';
import { RetryBudget, type RetryOn, backoffDelay, isRetryable } from '../../../lib/health/retry';

const DEFAULT_ON: RetryOn[] = ['connect-failure', 'reset', 'timeout', 502, 503, 504, 429];

t.test('isRetryable', async (t) => {
  const table: [Parameters<typeof isRetryable>[0], readonly RetryOn[], boolean][] = [
    ['connect', DEFAULT_ON, true],
    ['reset', DEFAULT_ON, true],
    ['timeout', DEFAULT_ON, true],
    ['protocol', DEFAULT_ON, false],
    ['status_5xx', DEFAULT_ON, false],
    [502, DEFAULT_ON, true],
    [503, DEFAULT_ON, true],
    [504, DEFAULT_ON, true],
    [429, DEFAULT_ON, true],
    [500, DEFAULT_ON, false],
    [200, DEFAULT_ON, false],
    ['connect', ['connect-failure'], true],
    ['reset', ['connect-failure'], false],
    [503, ['connect-failure'], false],
    [500, [500], true],
    ['timeout', [], false],
  ];
  for (const [outcome, on, expected] of table) t.equal(isRetryable(outcome, on), expected, `${outcome} on [${on}]`);
});

t.test('backoffDelay: full jitter under base × 2^(n−1), capped', async (t) => {
  const cfg = { backoff_base: 25, backoff_max: 250 };
  const ceilings: [retry: number, ceiling: number][] = [
    [1, 25],
    [2, 50],
    [3, 100],
    [4, 200],
    [5, 250],
    [6, 250],
    [2000, 250], // 2^1999 overflows to Infinity; the cap still holds
  ];
  for (const [retry, ceiling] of ceilings) {
    t.equal(backoffDelay(retry, cfg, () => 0), 0, `retry ${retry}: low end is 0`);
    t.equal(backoffDelay(retry, cfg, () => 0.5), Math.floor(ceiling / 2), `retry ${retry}: midpoint`);
    t.equal(backoffDelay(retry, cfg, () => 1 - Number.EPSILON), ceiling - 1, `retry ${retry}: below ${ceiling}`);
  }
  t.equal(backoffDelay(1, { backoff_base: 0, backoff_max: 250 }, () => 0.9), 0, 'a zero base never waits');
});

t.test('RetryBudget: max(budget_min, budget_percent of active requests)', async (t) => {
  const budget = new RetryBudget({ budget_percent: 20, budget_min: 3 });
  const limits: [active: number, limit: number][] = [
    [0, 3],
    [10, 3],
    [15, 3],
    [19, 3],
    [20, 4],
    [24, 4],
    [25, 5],
    [100, 20],
    [1000, 200],
  ];
  for (const [active, limit] of limits) t.equal(budget.limit(active), limit, `${active} active requests`);
});

t.test('RetryBudget: acquire up to the limit, release makes room', async (t) => {
  const budget = new RetryBudget({ budget_percent: 20, budget_min: 3 });
  const granted = Array.from({ length: 5 }, () => budget.tryAcquire(10));
  t.same(granted, [true, true, true, false, false], 'min 3 wins over 20 % of 10');
  t.equal(budget.active, 3);
  t.equal(budget.tryAcquire(20), true, 'more traffic, larger budget (4)');
  t.equal(budget.tryAcquire(20), false);
  budget.release();
  t.equal(budget.active, 3);
  t.equal(budget.tryAcquire(20), true);
  for (let i = 0; i < 10; i++) budget.release();
  t.equal(budget.active, 0, 'never below zero');
});

t.test('RetryBudget: budget_min 0 and percent 0 allow no retries at all', async (t) => {
  const budget = new RetryBudget({ budget_percent: 0, budget_min: 0 });
  t.equal(budget.tryAcquire(1000), false);
});
