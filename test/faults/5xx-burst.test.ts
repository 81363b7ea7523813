// A burst of 503s from one backend (reliability.md §7, "5xx/gateway burst on a host"): the
// proxy retries each 503 on another backend (so the clients see none of them), and after
// `consecutive_gateway_failure` (5) it ejects the backend for base_ejection_time × n. The
// ejection and the return are visible in admin /status (breaker, ejected_until) and in
// /metrics switchyard_breaker_state (0 closed, 1 half-open, 2 open). A second ejection soon
// after the first lasts twice as long (Envoy's multiplier).
import t from 'tap';
import { chat, chatBody, metric, poolStatus, pollUntil, startRig, type Rig, type ChatResult } from './rig';
import type { FleetInstance } from '../../lib/sim';

const EJECT_MS = 1000;

async function burstUntilEjected(rig: Rig, victim: FleetInstance, label: string): Promise<{ results: ChatResult[]; ejectedAt: number }> {
  const start = victim.state().counters.injected_errors!;
  const results: ChatResult[] = [];
  // Sequential round-robin: every third try lands on the victim. Bounded: 40 requests.
  for (let i = 0; i < 40 && victim.state().counters.injected_errors! - start < 5; i++) {
    results.push(await chat(rig, { body: chatBody({ content: `${label} ${i}` }) }));
  }
  return { results, ejectedAt: Date.now() };
}

const breakerOf = async (rig: Rig, victim: FleetInstance) => (await poolStatus(rig)).backends.find((b) => b.id === rig.idOf(victim))!;

t.test('5xx burst: ejected after 5, back after the ejection time', async (t) => {
  const rig = await startRig(t, {
    pool: {
      outlier: { consecutive_gateway_failure: 5, base_ejection_time: `${EJECT_MS}ms`, max_ejection_time: '10s' },
      // No ramp after the return, so that the second burst reaches the victim at once.
      slow_start: { window: '0s' },
    },
  });
  const victim = rig.fleet.instances[1]!;
  const id = rig.idOf(victim);
  victim.setFailure({ failure_rate: 100, failure_types: ['server_error'] });

  const first = await burstUntilEjected(rig, victim, 'burst');
  t.equal(victim.state().counters.injected_errors, 5, 'five 503s from the victim');
  t.ok(first.results.every((r) => r.status === 200), 'no client saw a 503: each was retried elsewhere');
  t.equal(await metric(rig, 'switchyard_retries_total', { pool: 'p' }), 5, 'one retry per 503');

  let st = await breakerOf(rig, victim);
  t.equal(st.breaker, 'open', '/status: breaker open after the 5th 503');
  t.equal(st.state, 'ejected', '/status: state ejected');
  const until = Date.parse(st.ejected_until!);
  t.ok(Math.abs(until - first.ejectedAt - EJECT_MS) < 250, `ejected_until ≈ now + ${EJECT_MS} ms (${until - first.ejectedAt} ms)`);
  t.equal(await metric(rig, 'switchyard_breaker_state', { pool: 'p', backend: id }), 2, 'switchyard_breaker_state = 2');

  // While ejected nothing reaches it, even now that it is well again.
  victim.setFailure({ failure_rate: 0 });
  const seen = victim.state().counters.inference_requests!;
  for (let i = 0; i < 6; i++) t.equal((await chat(rig, { body: chatBody({ content: `ejected ${i}` }) })).status, 200, 'served while the victim is ejected');
  t.equal(victim.state().counters.inference_requests, seen, 'no request reached the ejected backend');

  // The ejection ends by itself: no event to await, so poll /status (bounded).
  const back = await pollUntil(() => breakerOf(rig, victim), (b) => b.breaker !== 'open', EJECT_MS + 2000);
  const openFor = Date.now() - first.ejectedAt;
  t.ok(back.ok, `the breaker left 'open' (${back.value.breaker})`);
  t.ok(openFor >= EJECT_MS - 100, `not before the ejection time (${openFor} ms)`);
  t.ok(openFor <= EJECT_MS + 1000, `and soon after it (${openFor} ms)`);
  t.equal(back.value.breaker, 'half-open', 'half-open: the next request probes it');
  t.equal(await metric(rig, 'switchyard_breaker_state', { pool: 'p', backend: id }), 1, 'switchyard_breaker_state = 1');

  for (let i = 0; i < 6 && victim.state().counters.inference_requests === seen; i++) {
    t.equal((await chat(rig, { body: chatBody({ content: `probe ${i}` }) })).status, 200, 'served after the return');
  }
  t.equal(victim.state().counters.inference_requests, seen + 1, 'the probe reached the recovered backend');
  st = await breakerOf(rig, victim);
  t.equal(st.breaker, 'closed', 'a successful probe closes the breaker');
  t.equal(await metric(rig, 'switchyard_breaker_state', { pool: 'p', backend: id }), 0, 'switchyard_breaker_state = 0');

  // A second burst right away: the ejection lasts 2 × base.
  victim.setFailure({ failure_rate: 100 });
  const second = await burstUntilEjected(rig, victim, 'again');
  t.ok(second.results.every((r) => r.status === 200), 'again no client saw a 503');
  st = await breakerOf(rig, victim);
  t.equal(st.breaker, 'open', 'ejected again');
  const until2 = Date.parse(st.ejected_until!) - second.ejectedAt;
  t.ok(Math.abs(until2 - 2 * EJECT_MS) < 250, `second ejection lasts 2 × ${EJECT_MS} ms (${until2} ms)`);
});
