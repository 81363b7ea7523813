// One of three backends killed under 16 concurrent clients with the DEFAULT retry budget
// (budget_min 3): refused connections retry without drawing on the budget, and only
// held-back statuses need budget room, so ≥ 99.9% of 2,000 requests still succeed.
import t from 'tap';
import { chat, chatBody, runLoad, startRig } from './rig';

// With the default retry budget (budget_min 3), a kill of one backend of three under 16
// concurrent clients makes 2–3 requests fail (1997–1998/2000 at 1dea1dc). Refused
// connections retry without the budget now, but `mayRetry` (handler.ts) also requires
// budget room when the try *starts*; during the burst the reset generations' retries hold
// the budget, so tries starting then are not retried when refused. Fix: gate only the
// held-back statuses on the budget (mayHoldStatus for retryStatuses), not mayRetry.
// With that change: 1999–2000/2000 (the rest are reset generations beyond the budget).
t.test('kill one of three with the default retry budget: ≥ 99.9% of 2,000 succeed', async (t) => {
  const rig = await startRig(t, { pool: { outlier: { base_ejection_time: '60s' } } });
  const victim = rig.fleet.instances[0]!;
  let killed = false;
  const results = await runLoad(2000, 16, async (i) => {
    if (!killed && i >= 600 && (victim.state().queue as { running: number }).running > 0) {
      victim.instance.crash(1000);
      killed = true;
    }
    return chat(rig, { body: chatBody({ content: `request ${i}`, maxTokens: 128, ignoreEos: true }) });
  });
  const ok = results.filter((r) => r.status === 200).length;
  t.ok(killed, 'killed');
  t.ok(ok / 2000 >= 0.999, `${ok}/2000 succeeded (≥ 99.9%): ${JSON.stringify(results.filter((r) => r.status !== 200).map((r) => r.text.slice(30, 90)))}`);
});
