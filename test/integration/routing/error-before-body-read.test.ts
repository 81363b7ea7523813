// When Switchyard answers an error before it has read the whole request body (the model is
// unknown or beyond inspect_body_size, a declared length over max_body_size), the connection must not be left with unread body bytes and kept alive:
// the client's next request on that keep-alive connection has to succeed (answer with
// `connection: close` and close, or discard the rest of the body).
import t from 'tap';
import { Agent, request } from 'undici';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { quietPool } from './support';

t.test('the next request on the connection after an early error', async (t) => {
  const backend = await startBackend();
  const d = await startDaemon({
    limits: { inspect_body_size: '1KiB', max_body_size: '1MiB' },
    pools: { p: quietPool([backend.url]) },
    routes: [{ name: 'm', match: { model: 'm' }, pool: 'p' }],
  });
  const agent = new Agent({ connections: 1, pipelining: 1 }); // one keep-alive connection
  t.teardown(async () => {
    await agent.close();
    await d.stop();
    await backend.close();
  });
  const send = async (body: string, headers: Record<string, string> = {}) => {
    const r = await request(`${d.url}/v1/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, dispatcher: agent });
    return { status: r.statusCode, text: await r.body.text() };
  };
  const good = JSON.stringify({ model: 'm', prompt: 'hi' });

  const cases: [string, string, number][] = [
    ['model beyond the inspection window', JSON.stringify({ prompt: 'x'.repeat(200_000), model: 'm' }), 404],
    ['unknown model, large body', JSON.stringify({ model: 'nope', prompt: 'x'.repeat(200_000) }), 404],
    ['a declared length over max_body_size', JSON.stringify({ model: 'm', prompt: 'x'.repeat(2 * 1024 * 1024) }), 413],
  ];
  for (const [what, body, status] of cases) {
    t.equal((await send(good)).status, 200, `${what}: a request before it is fine`);
    t.equal((await send(body)).status, status, `${what}: ${status}`);
    const next = await send(good).catch((e: Error & { code?: string }) => ({ status: 0, text: `${e.code}: ${e.message}` }));
    t.equal(next.status, 200, `${what}: the next request on the connection succeeds (${next.text.slice(0, 60)})`);
  }
});
