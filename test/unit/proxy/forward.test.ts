// An Attempt's first-byte deadline while undici has not started the request on a socket
// yet (the pool's only connection is busy): the attempt still times out, and when undici
// gets to it later it is aborted before anything is written.
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { Attempt, type AttemptOutcome } from '../../../lib/proxy/forward';
import type { Backend } from '../../../lib/routing/backend';

t.test('queued in undici past its deadline: fails with a first-byte timeout, and is never sent', async (t) => {
  // A real server on 127.0.0.1 that reads requests and never answers.
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => heads.push(d.toString('latin1').split('\r\n')[0]!));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new Pool(origin, { connections: 1, pipelining: 1 });
  t.teardown(async () => {
    await pool.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  // The blocker takes the pool's only connection; the attempt's request queues behind it.
  const blocker = new AbortController();
  const blocked = pool.request({ origin, path: '/blocker', method: 'GET', signal: blocker.signal }).catch(() => undefined);
  await new Promise<void>((r) => server.once('connection', (s: Socket) => s.once('data', () => r())));

  const backend = { origin, dispatcher: pool } as unknown as Backend;
  const outcome = await new Promise<AttemptOutcome>((resolve) => {
    const attempt = new Attempt(
      {} as ServerResponse,
      { backend, method: 'GET', path: '/queued', headers: [], body: null, requestId: 'r', firstByteTimeout: 50, idleTimeout: 1000, retryStatuses: new Set() },
      { attemptDone: (_a, o) => resolve(o), backpressure: () => {} },
    );
    attempt.start();
  });
  t.match(outcome, { type: 'failed', kind: 'timeout' });
  t.equal((outcome as { error: { code: string } }).error.code, 'upstream_timeout_first_byte');

  // Free the connection: undici starts the queued request, and the attempt aborts it at once.
  blocker.abort();
  await blocked;
  await pool.close();
  t.same(heads, ['GET /blocker HTTP/1.1'], 'the timed-out request never reached the server');
});
