// The health checks' worker thread: the same verdicts as ActiveHealthChecker (whose own
// tests cover the rules), reported across the thread, and the thread's life: one per
// process, ended with its last checker, restarted with every target when it dies.
import t from 'tap';
import { once } from 'node:events';
import { ProbeThread, RESTART_MS } from '../../../lib/health/probe-thread';
import { RemoteHealthChecker } from '../../../lib/health/remote-checker';
import type { HealthConfig } from '../../../lib/config/schema';
import { nodeTimers } from '../../../lib/health/timers';
import { recorder } from '../../support/recorder';
import { healthBackend as backend } from '../../support/health-backend';

const CFG: HealthConfig = { enabled: true, path: '/health', interval: 10, timeout: 5000, healthy_threshold: 2, unhealthy_threshold: 3, jitter: 0 };

type Test = tap.Test;

function checker(t: Test, thread: ProbeThread, cfg: Partial<HealthConfig> = {}) {
  const errors: Error[] = [];
  const c = new RemoteHealthChecker({ ...CFG, ...cfg }, { thread, onError: (e) => errors.push(e) });
  t.teardown(() => c.stop());
  return { c, errors };
}

t.test('verdicts come back from the worker thread, with the thresholds applied there', async (t) => {
  const thread = new ProbeThread();
  const b = await backend(t);
  const { c, errors } = checker(t, thread);
  const changes = recorder<boolean>();
  const results = recorder<boolean>();
  c.track('b1', b.url, changes.push, { onResult: results.push });
  t.ok(thread.worker, 'the first checker started the thread');
  t.equal(c.healthy('b1'), true, 'healthy until a check says otherwise');
  t.equal(await results.next(), true, 'a passing check is reported');
  t.same([...b.state.paths], ['/health'], 'the configured path on the tracked origin');
  t.same(changes.seen, [], 'passes of a healthy backend change nothing');

  b.state.set(503);
  t.equal(await changes.next(), false, 'down after failing checks');
  t.equal(c.healthy('b1'), false);
  t.same(results.seen.slice(-3), [false, false, false], 'after unhealthy_threshold (3) failures');

  b.state.set(200);
  t.equal(await changes.next(), true, 'up again');
  t.same(results.seen.slice(-2), [true, true], 'after healthy_threshold (2) passes');
  t.same(errors, []);
});

t.test('an untracked backend gets no more callbacks; the others go on', async (t) => {
  const thread = new ProbeThread();
  const b = await backend(t);
  const { c } = checker(t, thread);
  const gone = recorder<boolean>();
  const kept = recorder<boolean>();
  c.track('a', b.url, () => {}, { onResult: gone.push });
  c.track('b', b.url, () => {}, { onResult: kept.push });
  await gone.next();
  c.untrack('a');
  const after = gone.seen.length;
  for (let i = 0; i < 5; i++) await kept.next();
  t.equal(gone.seen.length, after, 'no result for the untracked backend while the other had five');
  t.equal(c.healthy('a'), undefined);
  t.equal(c.healthy('b'), true);
});

t.test('the thread ends with its last checker and starts again with the next', async (t) => {
  const thread = new ProbeThread();
  const b = await backend(t);
  const one = checker(t, thread).c;
  const two = checker(t, thread).c;
  one.track('x', b.url, () => {});
  const w = thread.worker!;
  const exited = once(w, 'exit');
  await one.stop();
  t.equal(thread.worker, w, 'still running for the other checker');
  await two.stop();
  t.equal(thread.worker, undefined, 'gone with the last one');
  await exited;

  const three = checker(t, thread).c;
  const results = recorder<boolean>();
  three.track('y', b.url, () => {}, { onResult: results.push });
  t.not(thread.worker, w, 'a new thread');
  t.equal(await results.next(), true, 'checking again');
});

t.test('a dead thread is restarted and tracks every target again from its last verdict', async (t) => {
  // Node's timers, recording the delays the thread asks for.
  const delays: number[] = [];
  const thread = new ProbeThread({ setTimeout: (fn, ms) => (delays.push(ms), nodeTimers.setTimeout(fn, ms)), clearTimeout: nodeTimers.clearTimeout });
  const b = await backend(t);
  const { c } = checker(t, thread);
  const changes = recorder<boolean>();
  const results = recorder<boolean>();
  c.track('b1', b.url, changes.push, { onResult: results.push });
  b.state.set(500);
  t.equal(await changes.next(), false, 'down before the crash');

  const dead = thread.worker!;
  await dead.terminate(); // not through close(): the thread treats it as a crash
  t.equal(thread.worker, undefined, 'no thread until the restart');
  t.same(delays, [RESTART_MS], `the restart waits RESTART_MS (${RESTART_MS} ms): no tight loop`);
  b.state.set(200);
  // Replayed as unhealthy and never checked by the new thread: one pass brings it up.
  t.equal(await changes.next(), true, 'up again after the restart');
  t.ok(thread.worker && thread.worker !== dead, 'a new thread');
  t.equal(c.healthy('b1'), true);
});
