import t from 'tap';
import { AdmissionQueue, type ShedReason } from '../../../lib/health/admission-queue';
import type { Priority } from '../../../lib/config/schema';
import { ShedError } from '../../../lib/errors';
import { FakeClock } from './fake-clock';

interface Watched {
  name: string;
  state: 'waiting' | 'admitted' | 'rejected';
  error?: unknown;
}

function setup(max: number, timeout = 30_000) {
  const clock = new FakeClock();
  const shed: [ShedReason, Priority][] = [];
  const queue = new AdmissionQueue(
    { max, timeout },
    { now: clock.now, timers: clock, onShed: (reason, priority) => shed.push([reason, priority]) },
  );
  const order: string[] = [];
  /** Enqueue and watch the outcome; `order` records admissions in order. */
  const enqueue = (name: string, priority: Priority, signal?: AbortSignal): Watched => {
    const w: Watched = { name, state: 'waiting' };
    queue.enqueue(priority, { signal }).then(
      () => {
        w.state = 'admitted';
        order.push(name);
      },
      (err: unknown) => {
        w.state = 'rejected';
        w.error = err;
      },
    );
    return w;
  };
  return { clock, queue, shed, order, enqueue };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('wakeNext: highest priority first, FIFO within a priority', async (t) => {
  const { queue, order, enqueue } = setup(10);
  enqueue('s1', 'sheddable');
  enqueue('n1', 'standard');
  enqueue('c1', 'critical');
  enqueue('n2', 'standard');
  enqueue('c2', 'critical');
  t.equal(queue.size, 5);
  t.same(queue.sizeByPriority(), { critical: 2, standard: 2, sheddable: 1 });
  let woken = 0;
  while (queue.wakeNext()) woken++;
  t.equal(woken, 5);
  t.equal(queue.wakeNext(), false, 'nobody left');
  await settle();
  t.same(order, ['c1', 'c2', 'n1', 'n2', 's1']);
  t.equal(queue.size, 0);
});

const PRIORITY_OF: Record<string, Priority> = { c: 'critical', n: 'standard', s: 'sheddable' };

t.test('full queue with mixed priorities', async (t) => {
  // Queue of 3 described one letter a waiter, oldest first: c critical, n standard,
  // s sheddable. `evicted` is the index of the waiter pushed out; null when the arrival is refused.
  const cases: [name: string, queued: string, arrival: string, evicted: number | null, shed: [ShedReason, Priority]][] = [
    ['critical evicts the newest sheddable', 'nss', 'c', 2, ['priority', 'sheddable']],
    ['standard evicts a sheddable', 'scn', 'n', 0, ['priority', 'sheddable']],
    ['critical evicts the newest standard when no sheddable waits', 'ncn', 'c', 2, ['priority', 'standard']],
    ['same priority is refused: first come, first served', 'nnn', 'n', null, ['queue_full', 'standard']],
    ['a sheddable arrival is refused at once', 'ncn', 's', null, ['queue_full', 'sheddable']],
    ['critical into a queue full of critical is refused', 'ccc', 'c', null, ['queue_full', 'critical']],
  ];
  for (const [name, queued, arrivalPriority, evicted, expectedShed] of cases) {
    const { queue, shed, enqueue } = setup(3);
    const waiting = [...queued].map((p, i) => enqueue(`q${i}`, PRIORITY_OF[p]));
    const arrival = enqueue('new', PRIORITY_OF[arrivalPriority]);
    await settle();
    t.equal(queue.size, 3, `${name}: the queue stays at its bound`);
    t.same(shed, [expectedShed], `${name}: shed metric`);
    t.equal(arrival.state, evicted === null ? 'rejected' : 'waiting', `${name}: the arrival`);
    for (const [i, w] of waiting.entries()) t.equal(w.state, i === evicted ? 'rejected' : 'waiting', `${name}: ${w.name}`);
    const rejected = evicted === null ? arrival : waiting[evicted];
    t.ok(rejected.error instanceof ShedError, `${name}: a ShedError`);
    t.equal((rejected.error as ShedError).status, 429);
    t.equal((rejected.error as ShedError).retryAfter, 1);
  }
});

t.test('max 0: every request is refused', async (t) => {
  const { queue, shed, enqueue } = setup(0);
  const w = enqueue('c', 'critical');
  await settle();
  t.equal(w.state, 'rejected');
  t.same(shed, [['queue_full', 'critical']]);
  t.equal(queue.size, 0);
});

t.test('queue timeout: exactly at the deadline, per waiter', async (t) => {
  const { clock, queue, shed, enqueue } = setup(10, 1000);
  const first = enqueue('first', 'critical');
  clock.advance(400);
  const second = enqueue('second', 'sheddable');
  clock.advance(599);
  await settle();
  t.equal(first.state, 'waiting', '1 ms before its deadline');
  clock.advance(1);
  await settle();
  t.equal(first.state, 'rejected');
  t.ok(first.error instanceof ShedError);
  t.equal(second.state, 'waiting');
  clock.advance(399);
  await settle();
  t.equal(second.state, 'waiting');
  clock.advance(1);
  await settle();
  t.equal(second.state, 'rejected');
  t.same(shed, [
    ['queue_timeout', 'critical'],
    ['queue_timeout', 'sheddable'],
  ]);
  t.equal(queue.size, 0);
  t.equal(clock.timerCount, 0, 'no timer left behind');
});

t.test('a woken waiter is not timed out later; the timer moves to the next head', async (t) => {
  const { clock, queue, enqueue } = setup(10, 1000);
  const a = enqueue('a', 'standard');
  clock.advance(500);
  const b = enqueue('b', 'standard');
  queue.wakeNext();
  clock.advance(999);
  await settle();
  t.equal(a.state, 'admitted');
  t.equal(b.state, 'waiting', 'the timer armed for a did not take b');
  clock.advance(1);
  await settle();
  t.equal(b.state, 'rejected', 'b timed out at its own deadline');
  t.equal(clock.timerCount, 0);
});

t.test('timeout 0 waits without limit', async (t) => {
  const { clock, enqueue } = setup(10, 0);
  const w = enqueue('w', 'standard');
  t.equal(clock.timerCount, 0);
  clock.advance(3_600_000);
  await settle();
  t.equal(w.state, 'waiting');
});

t.test('abort: the waiter leaves with the signal reason, not counted as shed', async (t) => {
  const { clock, queue, shed, enqueue } = setup(10);
  const ac = new AbortController();
  const w = enqueue('w', 'standard', ac.signal);
  const other = enqueue('other', 'sheddable');
  ac.abort();
  await settle();
  t.equal(w.state, 'rejected');
  t.equal((w.error as Error).name, 'AbortError');
  t.equal(queue.size, 1);
  t.same(shed, []);
  t.ok(queue.wakeNext());
  await settle();
  t.equal(other.state, 'admitted', 'the aborted waiter took no slot');
  t.equal(clock.timerCount, 0);
});

t.test('an already aborted signal is rejected without queueing', async (t) => {
  const { queue, enqueue } = setup(10);
  const w = enqueue('w', 'critical', AbortSignal.abort());
  await settle();
  t.equal(w.state, 'rejected');
  t.equal(queue.size, 0);
});

t.test('settled waiters drop their abort listener', async (t) => {
  const { queue } = setup(10);
  const ac = new AbortController();
  let listeners = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
  ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
  const p = queue.enqueue('standard', { signal: ac.signal });
  t.equal(listeners, 1);
  queue.wakeNext();
  await p;
  t.equal(listeners, 0);
  ac.abort();
  t.equal(queue.size, 0);
});

t.test('rejectAll empties the queue with the given error', async (t) => {
  const { clock, queue, shed, enqueue } = setup(10);
  const ws = [enqueue('a', 'critical'), enqueue('b', 'sheddable')];
  const err = new Error('pool removed');
  queue.rejectAll(err);
  await settle();
  for (const w of ws) t.equal(w.error, err);
  t.equal(queue.size, 0);
  t.same(shed, []);
  t.equal(clock.timerCount, 0);
});
