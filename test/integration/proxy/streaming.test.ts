// SSE streaming: each event reaches the client before the backend writes the next one
// (no buffering anywhere), a client that goes away aborts the upstream (the backend sees
// its socket close), and a backend that dies mid-stream cuts the client's stream without a
// made-up end.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';

const SSE_HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

t.test('SSE through the proxy', async (t) => {
  const backend = await startBackend();
  backend.hold();
  const d = await startDaemon({
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  t.test('each event arrives before the backend writes the next', async (t) => {
    const pending = request(`${d.url}/v1/chat/completions`, { method: 'POST', body: '{"stream":true}', headers: { 'content-type': 'application/json' } });
    const { res } = await backend.nextHeld();
    res.writeHead(200, SSE_HEAD);
    res.write('data: {"n":0}\n\n');
    const reply = await pending;
    t.equal(reply.statusCode, 200);
    t.equal(reply.headers['content-type'], 'text/event-stream');
    const it = reply.body[Symbol.asyncIterator]();
    for (let n = 0; n < 10; n++) {
      // Event n is only written after the client received event n-1.
      const chunk = await it.next();
      t.equal(chunk.value.toString(), `data: {"n":${n}}\n\n`, `event ${n} alone, unbuffered`);
      if (n < 9) res.write(`data: {"n":${n + 1}}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    t.equal((await it.next()).value.toString(), 'data: [DONE]\n\n');
    t.ok((await it.next()).done);
  });

  t.test('a client abort closes the upstream connection promptly', async (t) => {
    const ac = new AbortController();
    const pending = request(`${d.url}/v1/chat/completions`, { method: 'POST', body: '{}', signal: ac.signal });
    const { res, recorded } = await backend.nextHeld();
    res.writeHead(200, SSE_HEAD);
    res.write('data: {"n":0}\n\n');
    const reply = await pending;
    await reply.body[Symbol.asyncIterator]().next();
    const abortedAt = Date.now();
    ac.abort();
    await recorded.closed;
    const seenAfter = Date.now() - abortedAt;
    t.ok(seenAfter <= 100, `backend saw the close ${seenAfter} ms after the client left (≤ 100 ms)`);
    t.ok(res.destroyed || res.socket === null || res.socket.destroyed, 'the upstream socket was destroyed, not pooled');
  });

  t.test('a client that leaves before the response aborts the upstream', async (t) => {
    const ac = new AbortController();
    const pending = request(`${d.url}/v1/slow`, { method: 'POST', body: '{}', signal: ac.signal }).catch((e: Error) => e);
    const { recorded } = await backend.nextHeld();
    ac.abort();
    await recorded.closed;
    t.type(await pending, Error);
  });

  t.test('a backend dying mid-stream cuts the client stream, no [DONE]', async (t) => {
    const pending = request(`${d.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    const { res } = await backend.nextHeld();
    res.writeHead(200, SSE_HEAD);
    res.write('data: {"n":0}\n\n');
    const reply = await pending;
    let received = '';
    const consumed = (async () => {
      for await (const c of reply.body) {
        received += c.toString();
        if (received.includes('"n":1')) res.socket!.destroy();
      }
    })();
    res.write('data: {"n":1}\n\n');
    await t.rejects(consumed, 'the client sees an abnormal end');
    t.notMatch(received, /\[DONE\]/);
  });
});
