import t from 'tap';
import { RateLimiter } from '../../../lib/health/rate-limit';
import { FakeClock } from './fake-clock';

function setup(cfg: { requests_per_minute?: number; tokens_per_minute?: number }, maxKeys?: number) {
  const clock = new FakeClock();
  return { clock, limiter: new RateLimiter(cfg, { now: clock.now, maxKeys }) };
}

t.test('requests per minute: a minute of burst, then one per 1/rpm', async (t) => {
  const { clock, limiter } = setup({ requests_per_minute: 60 });
  for (let i = 0; i < 60; i++) t.equal(limiter.take('k').ok, true, `request ${i + 1}`);
  t.same(limiter.take('k'), { ok: false, limit: 'requests', retryAfter: 1 });
  clock.advance(999);
  t.equal(limiter.take('k').ok, false, '1 ms early');
  clock.advance(1);
  t.equal(limiter.take('k').ok, true, 'refilled one request after 1 s');
  t.equal(limiter.take('other').ok, true, 'keys are independent');
});

t.test('retryAfter is the wait for the missing amount, in whole seconds', async (t) => {
  const table: [rpm: number, retryAfter: number][] = [
    [1, 60],
    [2, 30],
    [7, 9], // 8.57 s rounds up
    [600, 1], // 100 ms rounds up to the 1 s minimum
  ];
  for (const [rpm, retryAfter] of table) {
    const { limiter } = setup({ requests_per_minute: rpm });
    for (let i = 0; i < rpm; i++) limiter.take('k');
    t.same(limiter.take('k'), { ok: false, limit: 'requests', retryAfter }, `${rpm} rpm`);
  }
});

t.test('tokens per minute', async (t) => {
  const { clock, limiter } = setup({ tokens_per_minute: 1000 });
  t.equal(limiter.take('k', 600).ok, true);
  t.same(limiter.take('k', 600), { ok: false, limit: 'tokens', retryAfter: 12 }, '200 missing at 1000/min = 12 s');
  clock.advance(12_000);
  t.equal(limiter.take('k', 600).ok, true);
  t.equal(limiter.take('k', 0).ok, true, 'a request with no token estimate passes an empty token bucket');
});

t.test('both limits: all or nothing, the longer wait wins', async (t) => {
  const { clock, limiter } = setup({ requests_per_minute: 2, tokens_per_minute: 1000 });
  t.equal(limiter.take('k', 900).ok, true);
  t.same(limiter.take('k', 500), { ok: false, limit: 'tokens', retryAfter: 24 });
  t.equal(limiter.take('k', 100).ok, true, 'the refused request took no request slot');
  t.same(limiter.take('k', 0), { ok: false, limit: 'requests', retryAfter: 30 });
  clock.advance(30_000);
  t.same(limiter.take('k', 1000), { ok: false, limit: 'tokens', retryAfter: 30 }, 'requests refilled first; tokens need 30 s more');
});

t.test('a request above a minute of tokens passes only a full bucket, into debt', async (t) => {
  const { clock, limiter } = setup({ tokens_per_minute: 1000 });
  t.equal(limiter.take('k', 1).ok, true);
  t.equal(limiter.take('k', 5000).ok, false, 'the bucket is not full');
  clock.advance(60_000);
  t.equal(limiter.take('k', 5000).ok, true, 'full bucket: admitted');
  t.same(limiter.take('k', 1), { ok: false, limit: 'tokens', retryAfter: 241 }, '4001 missing at 1000/min: 240.06 s');
});

t.test('charge settles usage after the fact, refunds never exceed the bucket', async (t) => {
  const { limiter } = setup({ tokens_per_minute: 1000 });
  t.equal(limiter.take('k', 100).ok, true);
  limiter.charge('k', 900); // the response used 1000 tokens in all
  t.same(limiter.take('k', 1), { ok: false, limit: 'tokens', retryAfter: 1 });
  limiter.charge('k', -5000);
  t.equal(limiter.take('k', 1000).ok, true, 'refund capped at a full bucket');
  t.equal(limiter.take('k', 1).ok, false);
});

t.test('charge is a no-op without a tokens limit', async (t) => {
  const { limiter } = setup({ requests_per_minute: 10 });
  limiter.charge('k', 1e9);
  t.equal(limiter.take('k', 1e9).ok, true);
  t.equal(limiter.size, 1);
});

t.test('no limits: everything passes', async (t) => {
  const { limiter } = setup({});
  const results = Array.from({ length: 1000 }, () => limiter.take('k', 1e6).ok);
  t.ok(results.every(Boolean));
});

t.test('keys are bounded, least recently used evicted first', async (t) => {
  const { limiter } = setup({ requests_per_minute: 1 }, 2);
  limiter.take('a');
  limiter.take('b');
  t.equal(limiter.take('a').ok, false, 'a is used up (and now most recently used)');
  limiter.take('c'); // evicts b, the least recently used
  t.equal(limiter.size, 2);
  t.equal(limiter.take('a').ok, false, 'a kept its state');
  t.equal(limiter.take('b').ok, true, 'b was forgotten and starts full (evicting c)');
  t.equal(limiter.take('c').ok, true, 'c was forgotten too');
  t.equal(limiter.size, 2);
});
