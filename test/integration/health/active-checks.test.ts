// Active health checks end to end: the daemon (a child process) checks its backends from
// its probe thread; a backend whose /health fails leaves the rotation, /status and
// switchyard_backend_up say so, and it comes back when /health passes again.
import t from 'tap';
import { startBackend, type Handler, type TestBackend } from '../../support/backend';
import { startDaemon, type LogLine } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { admin, metricsText, nextLog, sample } from '../routing/support';

/** /health answers `health.status`; anything else 200 with the backend's URL in x-served-by. */
function checked(url: () => string, health: { status: number }): Handler {
  return (req, res) => {
    if (req.url === '/health') {
      res.writeHead(health.status).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': url() });
    res.end('{}');
  };
}

t.test('a backend failing its checks leaves the rotation and comes back', async (t) => {
  const aHealth = { status: 200 };
  const a: TestBackend = await startBackend();
  const b: TestBackend = await startBackend();
  a.setHandler(checked(() => a.url, aHealth));
  b.setHandler(checked(() => b.url, { status: 200 }));
  const d = await startDaemon({
    log: { access: false },
    pools: {
      p: {
        backends: [a.url, b.url],
        strategy: 'round-robin',
        health: { interval: '20ms', timeout: '2s', healthy_threshold: 2, unhealthy_threshold: 2, jitter: 0 },
      },
    },
    routes: [{ name: 'r', match: { path_prefix: '/' }, pool: 'p' }],
  });
  const dispatcher = agent();
  t.teardown(async () => {
    await closeAgents();
    await d.stop('SIGKILL');
    await Promise.all([a.close(), b.close()]);
  });
  const aId = `127.0.0.1:${a.port}`;
  const servedBy = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await call(`${d.url}/v1/x`, { dispatcher });
      out.push(r.status !== 200 ? `status ${r.status}` : String(r.headers['x-served-by']) === a.url ? 'a' : 'b');
    }
    return out;
  };
  const verdict = (healthy: boolean) => (l: LogLine) => l.msg === 'health check verdict changed' && l.backend === aId && l.healthy === healthy;
  const stateOfA = async () => (await admin(d, '/status')).json().pools.p.backends.find((x: { id: string }) => x.id === aId);

  t.same((await servedBy(4)).sort(), ['a', 'a', 'b', 'b'], 'both serve while both pass');

  const down = nextLog(d, verdict(false));
  aHealth.status = 503;
  await down;
  t.match(await stateOfA(), { healthy: false, state: 'unhealthy' }, '/status: a unhealthy');
  t.equal(sample(await metricsText(d), 'switchyard_backend_up', { pool: 'p', backend: aId }), 0, 'switchyard_backend_up 0');
  t.same(await servedBy(6), ['b', 'b', 'b', 'b', 'b', 'b'], 'every request goes to b');

  const up = nextLog(d, verdict(true));
  aHealth.status = 200;
  await up;
  t.match(await stateOfA(), { healthy: true }, '/status: a healthy again');
  t.ok((await servedBy(6)).includes('a'), 'a takes requests again');
});
