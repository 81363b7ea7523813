import t from 'tap';
import { once } from 'node:events';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { ActiveHealthChecker } from '../../../lib/health/active-checker';
import type { HealthConfig } from '../../../lib/config/schema';
import type { Timers } from '../../../lib/health/timers';
import { recorder } from '../../support/recorder';
import { healthBackend as backend } from '../../support/health-backend';

const CFG: HealthConfig = {
  enabled: true,
  path: '/health',
  interval: 10,
  timeout: 5000, // generous: tests assert counts, and a loaded CI machine must not time a check out
  healthy_threshold: 2,
  unhealthy_threshold: 3,
  jitter: 0,
};

type Test = tap.Test;

/**
 * Real timers that remember the delays asked for and which are still pending. Unlike the
 * checker's default (unref'd) timers they keep the test process alive between checks.
 */
function watchedTimers() {
  const pending = new Set<NodeJS.Timeout>();
  const delays: number[] = [];
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      delays.push(ms);
      const h = setTimeout(() => {
        pending.delete(h);
        fn();
      }, ms);
      pending.add(h);
      return h;
    },
    clearTimeout: (h) => {
      pending.delete(h as NodeJS.Timeout);
      clearTimeout(h as NodeJS.Timeout);
    },
  };
  return { timers, pending, delays };
}

function checker(t: Test, cfg: Partial<HealthConfig> = {}, opts: ConstructorParameters<typeof ActiveHealthChecker>[1] = {}) {
  const c = new ActiveHealthChecker({ ...CFG, ...cfg }, { timers: watchedTimers().timers, ...opts });
  t.teardown(() => c.stop());
  return c;
}

t.test('a healthy backend goes down after exactly unhealthy_threshold failures, up after healthy_threshold passes', async (t) => {
  const b = await backend(t);
  const c = checker(t);
  const changes = recorder<boolean>();
  const results = recorder<boolean>();
  c.track('b1', b.url, changes.push, { onResult: results.push });
  t.equal(c.healthy('b1'), true, 'starts healthy');
  t.equal(await results.next(), true);
  t.same(changes.seen, [], 'passing checks of a healthy backend change nothing');
  t.same([...b.state.paths], ['/health']);

  b.state.set(500);
  t.equal(await changes.next(), false);
  t.equal(b.state.served, 3, 'marked down on the third consecutive failure');
  t.equal(c.healthy('b1'), false);

  b.state.set(204);
  t.equal(await changes.next(), true);
  t.equal(b.state.served, 2, 'marked up on the second consecutive pass');
  t.equal(b.state.maxInflight, 1, 'never two checks at once');
});

t.test('a failure streak is broken by a pass', async (t) => {
  const b = await backend(t);
  const c = checker(t, { unhealthy_threshold: 2 });
  const changes = recorder<boolean>();
  const results = recorder<boolean>();
  c.track('b1', b.url, changes.push, { onResult: results.push });
  // Alternate fail, pass, fail, pass... by flipping the status after every result.
  b.state.set(503);
  for (let i = 0; i < 6; i++) {
    const pass = await results.next();
    b.state.set(pass ? 503 : 200);
  }
  t.ok(results.seen.includes(false), 'failures were seen');
  t.same(changes.seen, [], 'never two failures in a row, never marked down');
});

t.test('a backend tracked as unhealthy comes up on its first pass (startup rule)', async (t) => {
  const b = await backend(t);
  const c = checker(t);
  const changes = recorder<boolean>();
  c.track('b1', b.url, changes.push, { initiallyHealthy: false });
  t.equal(c.healthy('b1'), false);
  t.equal(await changes.next(), true);
  t.equal(b.state.served, 1);
});

t.test('a backend tracked as unhealthy stays down while it fails', async (t) => {
  const b = await backend(t);
  b.state.set(500);
  const c = checker(t);
  const changes = recorder<boolean>();
  const results = recorder<boolean>();
  c.track('b1', b.url, changes.push, { initiallyHealthy: false, onResult: results.push });
  for (let i = 0; i < 4; i++) t.equal(await results.next(), false);
  t.same(changes.seen, []);
  b.state.set(200);
  t.equal(await changes.next(), true);
  t.equal(b.state.served, 2, 'after the first check the full healthy_threshold applies');
});

t.test('a backend that never answers times out, one check at a time', async (t) => {
  const b = await backend(t);
  b.state.hang = true;
  // A timeout longer than the interval: checks started on a fixed beat would pile up.
  const c = checker(t, { interval: 20, timeout: 150, unhealthy_threshold: 2 });
  const changes = recorder<boolean>();
  c.track('b1', b.url, changes.push);
  t.equal(await changes.next(), false);
  t.ok(b.state.arrivals.seen.length <= 2, 'no more checks than the two failures counted');
  t.ok(b.state.maxInflight <= 1, 'the timed-out check was aborted before the next began');
});

t.test('connection refused counts as a failure', async (t) => {
  const probe = createNetServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  const c = checker(t);
  const changes = recorder<boolean>();
  c.track('gone', `http://127.0.0.1:${port}`, changes.push);
  t.equal(await changes.next(), false);
});

t.test('untrack aborts the check in flight and drops its result', async (t) => {
  const b = await backend(t);
  b.state.hang = true;
  const w = watchedTimers();
  const c = checker(t, {}, { timers: w.timers });
  const changes = recorder<boolean>();
  const results = recorder<boolean>();
  const arrived = b.state.arrivals.next();
  c.track('b1', b.url, changes.push, { onResult: results.push });
  const req = await arrived;
  c.untrack('b1');
  await new Promise((resolve) => req.socket.on('close', resolve)); // the checker hung up
  t.equal(c.healthy('b1'), undefined);
  // Let the aborted request's rejection run through the checker.
  await new Promise((resolve) => setImmediate(resolve));
  t.same(results.seen, [], 'no result reported');
  t.same(changes.seen, []);
  t.equal(w.pending.size, 0, 'no timer left');
});

t.test('track again replaces the target', async (t) => {
  const a = await backend(t);
  const b = await backend(t);
  b.state.set(500);
  const c = checker(t, { unhealthy_threshold: 1 });
  const first = recorder<boolean>();
  const second = recorder<boolean>();
  c.track('x', a.url, first.push, { initiallyHealthy: false });
  c.track('x', b.url, second.push);
  t.equal(await second.next(), false);
  t.same(first.seen, [], 'the replaced target reports nothing');
  t.equal(a.state.arrivals.seen.length, 0, 'and is not checked');
});

t.test('first check spread over the interval, then interval × (1 ± jitter)', async (t) => {
  const b = await backend(t);
  const cases: [random: number, first: number, next: number][] = [
    [0, 0, 10],
    [0.5, 10, 20],
    [0.75, 15, 25],
  ];
  for (const [random, first, next] of cases) {
    const w = watchedTimers();
    const c = checker(t, { interval: 20, jitter: 0.5 }, { timers: w.timers, random: () => random });
    const results = recorder<boolean>();
    c.track('b', b.url, () => undefined, { onResult: results.push });
    await results.next();
    // Delays asked for, in order: first check, its timeout, the next check.
    t.same(w.delays, [first, CFG.timeout, next], `random ${random}`);
    await c.stop();
    t.equal(w.pending.size, 0, 'stop leaves no timer');
  }
});
