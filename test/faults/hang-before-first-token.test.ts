// A backend that hangs before its first token (reliability.md §7, "Hang before first
// byte"): each try on it ends at the pool's per-try first-byte timeout and is retried on
// another backend, so the client still gets a 200, later by about that timeout; after
// `consecutive_local_origin_failure` (5) such timeouts the backend is ejected and gets no
// more requests.
import t from 'tap';
import { chat, chatBody, metric, poolStatus, startRig } from './rig';

const FIRST_BYTE_MS = 300;

t.test('hang before the first token: retried elsewhere after timeouts.first_byte, ejected after 5', async (t) => {
  const rig = await startRig(t, {
    pool: { timeouts: { first_byte: `${FIRST_BYTE_MS}ms` }, outlier: { base_ejection_time: '60s' } },
  });
  const [hung, ...others] = rig.fleet.instances;
  // 30 s real at time scale 0.05: far beyond the per-try timeout.
  hung!.setFailure({ stall_first_token_ms: 600_000 });

  const results = [];
  // Sequential, round-robin: every third try lands on the hung backend. Bounded: 40 requests.
  for (let i = 0; i < 40 && hung!.state().counters.inference_requests! < 5; i++) {
    results.push(await chat(rig, { body: chatBody({ content: `hang ${i}` }) }));
  }
  const tries = hung!.state().counters.inference_requests!;
  t.equal(tries, 5, 'the hung backend got 5 tries');
  t.ok(results.every((r) => r.status === 200), `every request succeeded (${results.map((r) => r.status).join(',')})`);
  t.notOk(results.some((r) => r.backend === hung!.id), 'no answer came from the hung backend');

  const slow = results.filter((r) => r.ms >= FIRST_BYTE_MS);
  t.equal(slow.length, 5, 'exactly the 5 requests that tried the hung backend waited for the first-byte timeout');
  for (const r of slow) t.ok(r.ms < FIRST_BYTE_MS + 1000, `retried after the per-try timeout, not the hang (${r.ms} ms)`);
  t.equal(await metric(rig, 'switchyard_retries_total', { pool: 'p' }), 5, 'one retry per timeout');
  t.equal(await metric(rig, 'switchyard_upstream_errors_total', { pool: 'p', backend: rig.idOf(hung!), kind: 'timeout' }), 5, 'five timeouts counted');
  t.equal(hung!.state().counters.client_disconnects, 5, 'each timed-out try was aborted upstream (the engine dropped it)');

  const st = (await poolStatus(rig)).backends.find((b) => b.id === rig.idOf(hung!))!;
  t.equal(st.breaker, 'open', 'ejected after 5 consecutive timeouts');

  // While ejected: nothing reaches it, and nobody waits for the timeout any more.
  const during = [];
  for (let i = 0; i < 9; i++) during.push(await chat(rig, { body: chatBody({ content: `after ${i}` }) }));
  t.ok(during.every((r) => r.status === 200), 'all succeed while it is ejected');
  t.equal(hung!.state().counters.inference_requests, 5, 'the ejected backend got nothing more');
  t.ok(during.every((r) => r.ms < FIRST_BYTE_MS), `no request waited for a timeout (max ${Math.max(...during.map((r) => r.ms))} ms)`);
  t.ok(others.every((o) => o.state().counters.inference_requests! > 0), 'the others served the traffic');
});
