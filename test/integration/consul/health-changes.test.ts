// Check flips and new registrations reach the daemon's traffic within a second: steady
// requests through the proxy, each answer naming its backend (x-sim-backend), against a
// Consul test server whose catalog the test changes.
import t from 'tap';
import { backends, consulRig, failed, register, traffic } from './support';

const BOUND_MS = 1000;

t.test('a backend whose check turns critical stops receiving new requests within 1 s, and returns when it passes', async (t) => {
  const { consul, a, b, c, d } = await consulRig(t, 3);
  const tr = traffic(t, d.url);

  const start = Date.now();
  await Promise.all([a, b, c].map((x) => tr.until((s) => s.backend === x.id, start, 5000, `on ${x.id}`)));

  const flip = Date.now();
  consul.setCheckStatus('service:b', 'critical', 'HTTP GET /health: 503');
  // Traffic runs on to a second past the bound, so there is something to see.
  await tr.until(() => true, flip + 2 * BOUND_MS, 5000, 'sent 2 s after the flip');
  const toB = tr.between(flip).filter((s) => s.backend === b.id);
  const lastToB = toB.length ? Math.max(...toB.map((s) => s.sent)) - flip : 0;
  t.ok(lastToB <= BOUND_MS, `${toB.length} requests sent after the flip went to ${b.id}, the last ${lastToB} ms after it (bound ${BOUND_MS} ms)`);
  const after = tr.between(flip + BOUND_MS, flip + 2 * BOUND_MS);
  t.ok(after.length >= 10, `${after.length} requests sent in the second past the bound`);
  t.same(backends(after), [a.id, c.id].sort(), 'past the bound only the passing backends serve');

  const pass = Date.now();
  consul.setCheckStatus('service:b', 'passing', 'HTTP GET /health: 200');
  const back = await tr.until((s) => s.backend === b.id, pass, 5000, `on ${b.id} after it passes again`);
  t.ok(back.done - pass <= BOUND_MS, `${b.id} served again ${back.done - pass} ms after its check passed`);

  await tr.stop();
  t.same(failed(tr.log), [], `all ${tr.log.length} requests answered 200`);
});

t.test('a new instance receives traffic within 1 s of registering', async (t) => {
  const { consul, a, b, c, d } = await consulRig(t, 2);
  const tr = traffic(t, d.url);

  const start = Date.now();
  await Promise.all([a, b].map((x) => tr.until((s) => s.backend === x.id, start, 5000, `on ${x.id}`)));
  await tr.until(() => true, start + 300, 5000, 'after 300 ms of traffic');
  t.same(backends(tr.log), [a.id, b.id].sort(), `before it registers, ${c.id} gets nothing (it is up, but not in Consul)`);

  const registered = Date.now();
  register(consul, c, 'c');
  const first = await tr.until((s) => s.backend === c.id, registered, 5000, `on ${c.id}`);
  t.ok(first.done - registered <= BOUND_MS, `${c.id} answered its first request ${first.done - registered} ms after registering (bound ${BOUND_MS} ms)`);

  await tr.stop();
  t.same(failed(tr.log), [], `all ${tr.log.length} requests answered 200`);
});
