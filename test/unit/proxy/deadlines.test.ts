// The shared first-byte deadline list: entries fire in order at their own deadline, a
// removed entry never fires, and one timer serves the list (re-armed for the next head).
import t from 'tap';
import { DeadlineList, deadlinesOf, type DeadlineEntry } from '../../../lib/proxy/deadlines';

// The list's timer is unref'd (in the daemon, sockets keep the process alive, and a
// pending deadline must not hold up exit); here a ref'd handle stands in for them.
const keepAlive = setInterval(() => {}, 60_000);
t.teardown(() => clearInterval(keepAlive));

function entry(name: string, fired: string[], onFire?: () => void): DeadlineEntry {
  return {
    deadlineAt: 0,
    prevDeadline: undefined,
    nextDeadline: undefined,
    inDeadlines: false,
    onDeadline() {
      fired.push(name);
      onFire?.();
    },
  };
}

t.test('entries fire in order, not before their deadline; removed ones never', async (t) => {
  const list = new DeadlineList(30);
  const fired: string[] = [];
  const firedAt = new Map<string, number>();
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const mk = (n: string) =>
    entry(n, fired, () => {
      firedAt.set(n, Date.now());
      if (fired.length === 2) done();
    });
  const a = mk('a');
  const b = mk('b');
  const c = mk('c');
  const addedA = Date.now();
  list.add(a);
  list.add(b);
  list.add(c);
  t.equal(list.size, 3);
  list.remove(b);
  t.equal(list.size, 2, 'removed from the middle');
  t.notOk(b.inDeadlines);
  await all;
  t.same(fired, ['a', 'c'], 'b was removed before its deadline');
  t.ok(firedAt.get('a')! - addedA >= 30 - 1, 'not before the deadline (timer granularity 1 ms)');
  t.equal(list.size, 0);
});

t.test('a later add after the list emptied arms the timer again', async (t) => {
  const list = new DeadlineList(10);
  const fired: string[] = [];
  await new Promise<void>((r) => list.add(entry('first', fired, r)));
  await new Promise<void>((r) => list.add(entry('second', fired, r)));
  t.same(fired, ['first', 'second']);
});

t.test('removing the head: the next entry still fires at its own time', async (t) => {
  const list = new DeadlineList(20);
  const fired: string[] = [];
  const head = entry('head', fired);
  list.add(head);
  const second = await new Promise<number>((r) => {
    setTimeout(() => {
      list.remove(head);
      const at = Date.now();
      list.add(entry('second', fired, () => r(Date.now() - at)));
    }, 5);
  });
  t.same(fired, ['second']);
  t.ok(second >= 19, `the second waited its own 20 ms (${second} ms)`);
});

t.test('adding an entry that is already in the list moves it to the tail', async (t) => {
  const list = new DeadlineList(15);
  const fired: string[] = [];
  const a = entry('a', fired);
  let done!: () => void;
  const both = new Promise<void>((r) => (done = r));
  const b = entry('b', fired, () => fired.length === 2 && done());
  const aAgain = a;
  list.add(a);
  list.add(b);
  list.add(aAgain);
  t.equal(list.size, 2, 'no duplicate');
  a.onDeadline = () => {
    fired.push('a');
    if (fired.length === 2) done();
  };
  await both;
  t.same(fired, ['b', 'a']);
});

t.test('deadlinesOf: one shared list per duration', async (t) => {
  t.equal(deadlinesOf(1234), deadlinesOf(1234));
  t.not(deadlinesOf(1234), deadlinesOf(1235));
});
