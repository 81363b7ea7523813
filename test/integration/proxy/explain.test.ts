// Explain: for a recent request, the admin API shows the candidates, each scorer's score
// and the pick; with `explain.header`, responses name the backend that served them.
import t from 'tap';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call } from '../../support/http';

t.test('routing decisions are explained', async (t) => {
  const a = await startBackend();
  const b = await startBackend();
  const d = await startDaemon({
    explain: { keep: 100, header: true },
    pools: { p: { backends: [a.url, b.url], strategy: 'least-queue', health: { enabled: false } } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await a.close();
    await b.close();
  });
  const r = await call(`${d.url}/v1/x`, { headers: { 'x-request-id': 'explain-me' } });
  t.equal(r.status, 200);
  const header = String(r.headers['x-switchyard-explain']);
  const served = /^picked=([^;]+); score=[0-9.]+; profile=least-queue; candidates=2$/.exec(header)?.[1];
  t.ok(served === `127.0.0.1:${a.port}` || served === `127.0.0.1:${b.port}`, `header names the backend and its score (${header})`);

  const e = await call(`${d.adminUrl}/explain?request_id=explain-me`);
  t.equal(e.status, 200);
  const ex = e.json();
  t.equal(ex.requestId, 'explain-me');
  t.equal(ex.profile, 'least-queue');
  t.equal(ex.candidates, 2);
  t.equal(ex.picked, served, 'the explained pick is the backend that served');
  t.equal(ex.scored.length, 2, 'both candidates scored');
  for (const s of ex.scored) {
    t.type(s.total, 'number');
    for (const v of Object.values(s.scores) as number[]) t.ok(v >= 0 && v <= 1, `score ${v} in [0,1]`);
  }
  t.equal((await call(`${d.adminUrl}/explain?request_id=unknown`)).status, 404);
  const recent = (await call(`${d.adminUrl}/explain`)).json();
  t.ok(recent.recent.some((x: { requestId: string }) => x.requestId === 'explain-me'), 'listed among recent decisions');
});
