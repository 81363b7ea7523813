// A backend's connection pool against a real backend on 127.0.0.1:0: free connections are
// reused, concurrency opens connections, close() lets requests in flight finish, destroy()
// cuts them, and a connection that failed is dropped.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { request } from 'undici';
import { ConnectionPool } from '../../../lib/routing/connection-pool';
import { startBackend, type TestBackend } from '../../support/backend';

/** A connection is handed back on the event-loop turn after its response ends (undici waits one, to see a FIN first). */
const turn = () => new Promise((r) => setImmediate(r));

async function setup(t: Test): Promise<{ backend: TestBackend; pool: ConnectionPool }> {
  const backend = await startBackend();
  const pool = new ConnectionPool(backend.url, { keepAliveTimeout: 60_000 });
  t.teardown(async () => {
    await pool.destroy();
    await backend.close();
  });
  return { backend, pool };
}

async function get(pool: ConnectionPool, path = '/'): Promise<number> {
  const res = await request(`${pool.origin}${path}`, { dispatcher: pool });
  await res.body.dump();
  return res.statusCode;
}

t.test('one request after another: one connection, reused', async (t) => {
  const { backend, pool } = await setup(t);
  for (let i = 0; i < 5; i++) {
    t.equal(await get(pool), 200);
    await turn();
  }
  t.equal(backend.connections(), 1, 'the backend saw one connection');
  t.equal(pool.size, 1);
});

t.test('concurrent requests each get a connection; afterwards those connections serve new requests', async (t) => {
  const { backend, pool } = await setup(t);
  backend.hold();
  const inFlight = Array.from({ length: 4 }, () => get(pool));
  const held = await Promise.all(Array.from({ length: 4 }, () => backend.nextHeld()));
  t.equal(backend.connections(), 4, 'four requests in flight, four connections');
  for (const h of held) h.res.end('ok');
  t.same(await Promise.all(inFlight), [200, 200, 200, 200]);
  await turn();
  const again = Array.from({ length: 4 }, () => get(pool));
  for (const h of await Promise.all(Array.from({ length: 4 }, () => backend.nextHeld()))) h.res.end('ok');
  await Promise.all(again);
  t.equal(backend.connections(), 4, 'no new connection while four were free');
  t.equal(pool.size, 4);
});

t.test('close(): the request in flight finishes, then the pool is closed and refuses new requests', async (t) => {
  const { backend, pool } = await setup(t);
  backend.hold();
  const inFlight = get(pool);
  const { res } = await backend.nextHeld();
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await turn();
  t.notOk(closed, 'close() waits for the request in flight');
  res.end('done');
  t.equal(await inFlight, 200, 'the request in flight got its whole response');
  await closing;
  t.ok(closed);
  await t.rejects(get(pool), { code: 'UND_ERR_CLOSED' }, 'a request after close() fails with undici’s ClientClosedError');
});

t.test('destroy(): the request in flight fails and the backend sees its connection close', async (t) => {
  const { backend, pool } = await setup(t);
  backend.hold();
  const inFlight = get(pool);
  const { recorded } = await backend.nextHeld();
  await pool.destroy(new Error('shutting down'));
  await t.rejects(inFlight, { message: 'shutting down' });
  t.type(await recorded.closed, 'number', 'the backend saw the close');
});

t.test('a connection that failed to open is dropped from the pool', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  const pool = new ConnectionPool(`http://127.0.0.1:${port}`);
  t.teardown(() => pool.destroy());
  await t.rejects(get(pool), { code: 'ECONNREFUSED' });
  t.equal(pool.size, 0, 'the failed connection is not kept');
});
