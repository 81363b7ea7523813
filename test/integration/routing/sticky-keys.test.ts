// Where a sticky key comes from: a header, a cookie, or the body's `user` (in that order
// when several are configured). The same key value lands on the same side whatever carries
// it; a request without any key is an independent weighted choice.
import t from 'tap';
import { startBackend, type Handler } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { WeightTable } from '../../../lib/routing/split';
import { pooled, quietPool } from './support';

const named =
  (name: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
    res.end('{}');
  };

t.test('sticky keys from a header, a cookie or the body', async (t) => {
  const blue = await startBackend(named('blue'));
  const green = await startBackend(named('green'));
  const d = await startDaemon({
    log: { access: false },
    pools: { blue: quietPool([blue.url]), green: quietPool([green.url]) },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: 50, green: 50 }, sticky: { header: 'x-session-id', cookie: 'sid', body: 'user' } }],
  });
  const dispatcher = agent();
  t.teardown(async () => {
    await closeAgents();
    await d.stop();
    await Promise.all([blue.close(), green.close()]);
  });
  const table = new WeightTable([
    { name: 'blue', weight: 50, target: 'blue' },
    { name: 'green', weight: 50, target: 'green' },
  ]);
  const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const side = async (opts: { headers?: Record<string, string>; user?: string }) => {
    const body = JSON.stringify({ model: 'm', messages: [], ...(opts.user ? { user: opts.user } : {}) });
    const r = await call(`${d.url}/v1/chat/completions`, { body, headers: { 'content-type': 'application/json', ...opts.headers }, dispatcher });
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    return String(r.headers['x-served-by']);
  };

  const byHeader = await pooled(keys, 16, (k) => side({ headers: { 'x-session-id': k } }));
  const byCookie = await pooled(keys, 16, (k) => side({ headers: { cookie: `theme=dark; sid=${k}; lang=en` } }));
  const byUser = await pooled(keys, 16, (k) => side({ user: k }));
  const predicted = keys.map((k) => table.pickSticky(k).name);
  t.same(byHeader, predicted, 'header keys: every key on its rendezvous side');
  t.same(byCookie, predicted, 'cookie keys: the same sides as the same values in the header');
  t.same(byUser, predicted, 'body `user` keys: the same sides');

  // Precedence: the header wins over the cookie, the cookie over the body.
  const a = keys.find((k) => table.pickSticky(k).name === 'blue')!;
  const b = keys.find((k) => table.pickSticky(k).name === 'green')!;
  t.equal(await side({ headers: { 'x-session-id': a, cookie: `sid=${b}` }, user: b }), 'blue', 'header before cookie and body');
  t.equal(await side({ headers: { cookie: `sid=${b}` }, user: a }), 'green', 'cookie before body');

  // Without a key: independent choices, so both sides show up over 200 requests.
  const unkeyed = await pooled(keys, 16, () => side({}));
  const blues = unkeyed.filter((s) => s === 'blue').length;
  t.ok(blues > 40 && blues < 160, `no key: ${blues} of 200 on blue (50% weight; a sticky choice would put all on one side)`);
});
