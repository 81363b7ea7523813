// A blue/green split end to end: 2,000 requests through the daemon, counted at each
// backend. The unit test (test/unit/routing/split.test.ts) holds 10,000 in-process picks to
// 2 percentage points; here, with fewer requests, each share must be within 4.5 standard
// deviations of its binomial (3.0 pp for a 10% side at n = 2,000; a false alarm about once
// in 100,000 runs), and the daemon's own per-backend counters must agree with what the
// backends saw, request for request.
import t, { type Test } from 'tap';
import { startBackend, type Handler } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { metricsText, pooled, quietPool, sample } from './support';

const N = 2_000;
/** 4.5 binomial standard deviations of a share p over n requests, in percentage points. */
const bound = (p: number, n = N) => 4.5 * Math.sqrt((p * (1 - p)) / n) * 100;
const within = (t: Test, what: string, count: number, want: number) => {
  const share = (count / N) * 100;
  const b = bound(want / 100);
  t.ok(Math.abs(share - want) <= b, `${what}: ${share.toFixed(2)}% (${want}% ± ${b.toFixed(1)} pp)`);
};
const named =
  (name: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
    res.end(JSON.stringify({ served_by: name }));
  };

t.test('90/10 over 2,000 requests: each backend gets its share', async (t) => {
  const blue1 = await startBackend(named('blue-1'));
  const blue2 = await startBackend(named('blue-2'));
  const green = await startBackend(named('green'));
  const d = await startDaemon({
    log: { access: false },
    pools: { blue: quietPool([blue1.url, blue2.url]), green: quietPool([green.url]) },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: 90, green: 10 } }],
  });
  const dispatcher = agent();
  t.teardown(async () => {
    await closeAgents();
    await d.stop();
    await Promise.all([blue1.close(), blue2.close(), green.close()]);
  });

  const seen: Record<string, number> = { 'blue-1': 0, 'blue-2': 0, green: 0 };
  const statuses = await pooled(Array.from({ length: N }), 32, async () => {
    const r = await call(`${d.url}/v1/chat/completions`, { body: '{"model":"m","messages":[]}', headers: { 'content-type': 'application/json' }, dispatcher });
    const by = r.headers['x-served-by'];
    if (typeof by === 'string') seen[by] = (seen[by] ?? 0) + 1;
    return r.status;
  });
  t.equal(statuses.filter((s) => s === 200).length, N, 'every request answered 200');

  const counts = { 'blue-1': blue1.requests.length, 'blue-2': blue2.requests.length, green: green.requests.length };
  t.same(counts, seen, 'what the backends recorded is what the clients were told');
  t.equal(counts['blue-1'] + counts['blue-2'] + counts.green, N, 'no request was sent twice or lost');

  within(t, 'blue pool', counts['blue-1'] + counts['blue-2'], 90);
  within(t, 'green pool', counts.green, 10);
  within(t, 'blue-1', counts['blue-1'], 45);
  within(t, 'blue-2', counts['blue-2'], 45);
  t.ok(Math.abs(counts['blue-1'] - counts['blue-2']) <= 1, `round-robin inside blue: ${counts['blue-1']} and ${counts['blue-2']}`);

  const metrics = await metricsText(d);
  for (const [backend, pool, n] of [
    [`127.0.0.1:${blue1.port}`, 'blue', counts['blue-1']],
    [`127.0.0.1:${blue2.port}`, 'blue', counts['blue-2']],
    [`127.0.0.1:${green.port}`, 'green', counts.green],
  ] as const) {
    t.equal(sample(metrics, 'switchyard_requests_total', { route: 'chat', pool, backend, code: '200' }), n, `switchyard_requests_total for ${pool}/${backend}`);
  }
});

t.test('weights 0/100 and a three-way split', async (t) => {
  const a = await startBackend(named('a'));
  const b = await startBackend(named('b'));
  const c = await startBackend(named('c'));
  const d = await startDaemon({
    log: { access: false },
    pools: { a: quietPool([a.url]), b: quietPool([b.url]), c: quietPool([c.url]) },
    routes: [
      { name: 'all-green', match: { path_prefix: '/cutover/' }, split: { a: 0, b: 100 } },
      { name: 'three', match: { path_prefix: '/' }, split: { a: 50, b: 30, c: 20 } },
    ],
  });
  const dispatcher = agent();
  t.teardown(async () => {
    await closeAgents();
    await d.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  await pooled(Array.from({ length: 300 }), 16, () => call(`${d.url}/cutover/x`, { dispatcher }));
  t.equal(a.requests.length, 0, 'a side at weight 0 gets no request');
  t.equal(b.requests.length, 300, 'the side at 100 gets all of them');

  const base = { a: a.requests.length, b: b.requests.length, c: c.requests.length };
  const statuses = await pooled(Array.from({ length: N }), 32, async () => (await call(`${d.url}/v1/x`, { dispatcher })).status);
  t.equal(statuses.filter((s) => s === 200).length, N, 'every request answered 200');
  const got = { a: a.requests.length - base.a, b: b.requests.length - base.b, c: c.requests.length - base.c };
  for (const [name, want] of [['a', 50], ['b', 30], ['c', 20]] as const) within(t, name, got[name], want);
});
