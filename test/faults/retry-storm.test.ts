// A retry storm (reliability.md §7, "Retry storm": budget caps retries; Envoy's retry
// budget, 20% of active requests, min 3): every backend hangs before its first token, so
// every try of C concurrent requests ends at the first-byte timeout at about the same
// moment. Unbudgeted, each request would be tried 1 + retries.max times (C × 2 retries).
// With the budget, at most max(budget_min, ⌊20% × (active + 1)⌋) retries run at once, and a
// retry holds its slot until its own try ends (one first-byte timeout later), so:
//   - requests that got a first retry ≤ ⌊0.2 × (C + 1)⌋  (retries/requests ≤ 0.2);
//   - requests that got a second retry ≤ those;
//   - switchyard_retries_total = Σ (attempts − 1);
//   - every client is answered (504), none left waiting.
// Then a storm of 503s (every backend answers 503 at once, 32 clients): a retryable status
// that can no longer be retried (budget spent) is still answered, never left hanging.
import t from 'tap';
import { chat, chatBody, metric, poolStatus, runLoad, startRig } from './rig';

const C = 50;
const FIRST_BYTE_MS = 400;

t.test('retry storm: the retry budget caps retries at 20% of active requests', async (t) => {
  const rig = await startRig(t, {
    pool: {
      timeouts: { first_byte: `${FIRST_BYTE_MS}ms` },
      retries: { max: 2, budget_percent: 20, budget_min: 3 },
      // Keep every backend in play: this is about the budget, not ejection or panic.
      outlier: { enabled: false },
      queue: { max: 1024 },
    },
  });
  for (const i of rig.fleet.instances) i.setFailure({ stall_first_token_ms: 3_600_000 });

  const results = await Promise.all(
    Array.from({ length: C }, (_, i) => chat(rig, { body: chatBody({ content: `storm ${i}` }), headers: { 'x-request-id': `storm-${i}` } })),
  );
  t.same(
    [...new Set(results.map((r) => r.status))],
    [504],
    'every client was answered with 504 (upstream timed out before answering)',
  );
  const slowest = Math.max(...results.map((r) => r.ms));
  t.ok(slowest < 3 * FIRST_BYTE_MS + 1500, `no client waited beyond its tries (${slowest} ms)`);

  const lines = await Promise.all(results.map((_, i) => rig.d.waitForLog((l) => l.type === 'access' && l.req_id === `storm-${i}`)));
  const attempts = lines.map((l) => l.attempts as number);
  const first = attempts.filter((a) => a >= 2).length;
  const second = attempts.filter((a) => a >= 3).length;
  const budget = Math.floor(0.2 * (C + 1));
  t.ok(first >= 3, `retries happened (${first} requests got a first retry; budget_min 3)`);
  t.ok(first <= budget, `first retries ${first} ≤ ⌊0.2 × ${C + 1}⌋ = ${budget} (retries/requests ${(first / C).toFixed(2)} ≤ 0.2)`);
  t.ok(second <= first, `second retries ${second} ≤ first retries ${first}`);
  t.ok(attempts.every((a) => a >= 1 && a <= 3), 'never more than 1 + retries.max tries');
  const total = attempts.reduce((n, a) => n + a - 1, 0);
  t.equal(await metric(rig, 'switchyard_retries_total', { pool: 'p' }), total, `switchyard_retries_total = Σ(attempts − 1) = ${total}, vs ${C * 2} unbudgeted`);
  t.equal((await poolStatus(rig)).retries_active, 0, 'every budget slot was given back');
  const tries = rig.fleet.instances.reduce((n, i) => n + i.state().counters.inference_requests!, 0);
  t.equal(tries, C + total, 'the backends saw exactly the originals plus the budgeted retries');
});

t.test('503 storm: every client is answered even when the retry budget is spent', async (t) => {
  const rig = await startRig(t, { pool: { outlier: { enabled: false } } });
  for (const i of rig.fleet.instances) i.setFailure({ failure_rate: 100, failure_types: ['server_error'] });
  const N = 300;
  const results = await runLoad(N, 32, (i) => chat(rig, { body: chatBody({ content: `storm ${i}` }), signal: AbortSignal.timeout(5000) }));
  const unanswered = results.filter((r) => r.status === 0).length;
  t.equal(unanswered, 0, `every client got an answer (${unanswered} of ${N} waited 5 s for nothing)`);
  t.same([...new Set(results.map((r) => r.status))], [503], 'each answer is the 503 (no backend could serve it)');
  const retries = await metric(rig, 'switchyard_retries_total', { pool: 'p' });
  const injected = rig.fleet.instances.reduce((n, i) => n + i.state().counters.injected_errors!, 0);
  t.equal(injected, N + retries, 'the backends saw the originals plus the retries, nothing else');
  t.ok(retries < N * 2, `the budget held retries below the unbudgeted ${N * 2} (${retries})`);
  t.equal((await poolStatus(rig)).retries_active, 0, 'every budget slot was given back');
});
