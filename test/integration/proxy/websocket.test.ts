// WebSocket upgrades are proxied both ways: messages echo, and the close code and reason
// the backend chooses reach the client.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { startDaemon } from '../../support/daemon';

t.test('WebSocket echo with a close code', async (t) => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const seenHeaders: Record<string, unknown>[] = [];
  wss.on('connection', (ws, req) => {
    seenHeaders.push(req.headers);
    ws.on('message', (data, isBinary) => {
      if (data.toString() === 'bye') ws.close(4001, 'done here');
      else ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const d = await startDaemon({
    pools: { ws: { backends: [`http://127.0.0.1:${port}`], strategy: 'round-robin', health: { enabled: false } } },
    routes: [{ name: 'ws', match: { path_prefix: '/ws' }, pool: 'ws' }],
  });
  t.teardown(async () => {
    await d.stop();
    wss.close();
    http.closeAllConnections();
    http.close();
  });

  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/echo`, { headers: { 'x-request-id': 'ws-1' } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(m.toString()));
  const big = 'x'.repeat(1 << 20);
  for (const m of ['hello', 'world', big]) {
    const got = new Promise((r) => ws.once('message', r));
    ws.send(m);
    await got;
  }
  t.same(messages.slice(0, 2), ['hello', 'world'], 'text frames echo in order');
  t.equal(messages[2]!.length, big.length, 'a 1 MiB frame passes whole');
  t.equal(seenHeaders[0]!['x-request-id'], 'ws-1', 'request id forwarded on the handshake');
  t.equal(seenHeaders[0]!['x-forwarded-for'], '127.0.0.1');

  const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));
  ws.send('bye');
  t.same(await closed, [4001, 'done here'], 'the backend\'s close code and reason reach the client');
});
