// The blocking loop's pieces: token bucket, backoff, and the index rules driven by a
// scripted fetch (the HTTP path is covered by the integration tests).
import t from 'tap';
import { once } from 'node:events';
import { BlockingWatch, TokenBucket, retryDelay } from '../../../lib/discovery/consul-watch';
import type { BlockingOptions, Indexed } from '../../../lib/discovery/consul-client';

t.test('token bucket: burst at once, then one per interval', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(2, 1000, () => now);
  t.equal(bucket.take(), 0);
  t.equal(bucket.take(), 0);
  t.equal(bucket.take(), 1000, 'third request waits a whole interval');
  now = 1000;
  t.equal(bucket.take(), 1000, 'the token it waited for was already spent');
  now = 10_000;
  t.equal(bucket.take(), 0, 'refills, but never above the burst');
  t.equal(bucket.take(), 0);
  t.equal(bucket.take(), 1000);
});

t.test('backoff grows with the square of failures and is capped, ±20 %', async (t) => {
  const mid = () => 0.5;
  t.same([1, 2, 3, 10].map((n) => retryDelay(n, 5000, 180_000, mid)), [5000, 20_000, 45_000, 180_000]);
  t.equal(retryDelay(1, 5000, 180_000, () => 0), 4000);
  t.equal(retryDelay(1, 5000, 180_000, () => 0.999999), 6000);
});

/**
 * A fetch that answers from a script and records the index of each request; `exhausted`
 * resolves when a request finds the script empty (it then blocks, like Consul, until stop).
 */
function scripted(answers: (Indexed<string> | Error)[]) {
  const seen: number[] = [];
  let exhaust: () => void;
  const exhausted = new Promise<void>((resolve) => (exhaust = resolve));
  const fetch = async (q: BlockingOptions): Promise<Indexed<string>> => {
    seen.push(q.index);
    const next = answers.shift();
    if (next === undefined) {
      exhaust();
      await new Promise((resolve) => q.signal.addEventListener('abort', resolve, { once: true }));
      throw new Error('aborted');
    }
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, seen, exhausted };
}

const fast = { waitMs: 1000, minIntervalMs: 1, burst: 2, retryBaseMs: 1, retryMaxMs: 5 };

t.test('index rules: change on a new index, none on an equal one, reset to 0 when it goes backwards, never below 1 after', async (t) => {
  const s = scripted([
    { index: 10, body: 'a' },
    { index: 10, body: 'a' }, // timeout: same index
    { index: 12, body: 'b' },
    { index: 5, body: 'c' }, // went backwards (snapshot restore)
    { index: 5, body: 'c' }, // the resync answer
    { index: 0, body: 'c' }, // a buggy zero index: lower, so another reset
    { index: 0, body: 'c' }, // still zero: raised to 1 so the next request blocks
  ]);
  const watch = new BlockingWatch(s.fetch, fast);
  const changes: [string, number][] = [];
  watch.on('change', (body, index) => changes.push([body, index]));
  watch.start();
  t.teardown(() => watch.stop());
  await s.exhausted;
  t.same(s.seen, [0, 10, 10, 12, 0, 5, 0, 1], 'request indexes');
  t.same(changes, [['a', 10], ['b', 12], ['c', 5], ['c', 5], ['c', 0]], 'a reset emits the answer; the resync answer may repeat it');
  t.equal(watch.index, 1);
});

t.test('errors back off and keep the index; success clears the failure count', async (t) => {
  const s = scripted([{ index: 3, body: 'a' }, new Error('boom'), new Error('boom'), { index: 3, body: 'a' }]);
  const watch = new BlockingWatch(s.fetch, fast);
  const fails: number[] = [];
  watch.on('fail', () => fails.push(watch.failures));
  watch.start();
  t.teardown(() => watch.stop());
  const [err] = await once(watch, 'fail');
  t.equal((err as Error).message, 'boom');
  await s.exhausted;
  t.same(fails, [1, 2]);
  t.same(s.seen, [0, 3, 3, 3, 3], 'the last index is reused after errors');
  t.ok(watch.ok, 'ok again after a success');
  t.equal(watch.lastError, undefined);
});

t.test('a body the listener cannot use is a failure: the index stays and it is fetched again', async (t) => {
  const s = scripted([{ index: 7, body: 'garbled' }, { index: 7, body: 'good' }]);
  const watch = new BlockingWatch(s.fetch, fast);
  const taken: string[] = [];
  watch.on('change', (body) => {
    if (body === 'garbled') throw new Error('cannot decode');
    taken.push(body);
  });
  watch.start();
  t.teardown(() => watch.stop());
  const [err] = await once(watch, 'fail');
  t.equal((err as Error).message, 'cannot decode');
  await s.exhausted;
  t.same(s.seen, [0, 0, 7], 'refetched from the same index, then blocks on the new one');
  t.same(taken, ['good']);
});
