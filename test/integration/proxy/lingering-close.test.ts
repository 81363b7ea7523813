// After an early error (here a 413 from the declared Content-Length, before any of the body
// is read), the proxy closes the connection without a reset: it half-closes after its answer
// and keeps reading and dropping what the client still sends, until the client closes or
// LINGER_MS pass (RFC 9112 §9.6; nginx's lingering_close). Without it the client's next
// writes meet a reset, and a client such as undici may report EPIPE instead of the 413.
// Raw sockets, so each step of the exchange is explicit.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';

const HEAD = 'POST /v1/chat/completions HTTP/1.1\r\nHost: switchyard.test\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n';

/** Resolves with the first whole response (head and its content-length body). */
function readResponse(socket: Socket): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({ head, body: buf.subarray(end + 4, end + 4 + length).toString() });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Writes `total` bytes in 16 KiB chunks, each after the previous one was handed to the kernel. */
async function writeBody(socket: Socket, total: number): Promise<void> {
  const chunk = Buffer.alloc(16 * 1024, 'x');
  for (let sent = 0; sent < total; sent += chunk.length) {
    await new Promise<void>((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve())));
  }
}

t.test('an early 413 is followed by a lingering close, not a reset', async (t) => {
  const backend = await startBackend();
  const d = await startDaemon({
    limits: { max_body_size: '1KiB' },
    pools: { p: { backends: [backend.url], strategy: 'round-robin', health: { enabled: false } } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  t.test('the client goes on sending its body after the answer, then closes', async (t) => {
    const socket = connect({ host: '127.0.0.1', port: d.port, allowHalfOpen: true });
    const errors: Error[] = [];
    socket.on('error', (e) => errors.push(e));
    await once(socket, 'connect');
    socket.write(HEAD);
    const { head, body } = await readResponse(socket);
    t.match(head, /^HTTP\/1\.1 413 /, '413 from the declared length');
    t.match(head, /\r\nconnection: close/i, 'and the connection will close');
    t.equal(JSON.parse(body).error.code, 'payload_too_large');

    const ended = once(socket, 'end'); // the proxy's FIN after its answer
    await writeBody(socket, 512 * 1024);
    await ended;
    socket.end();
    await once(socket, 'close');
    t.same(errors, [], 'no reset: every write after the answer was read and dropped by the proxy');
  });

  t.test('a client that never finishes its body is cut off after the lingering time', async (t) => {
    const socket = connect({ host: '127.0.0.1', port: d.port, allowHalfOpen: true });
    const failed = new Promise<Error>((resolve) => socket.once('error', resolve));
    await once(socket, 'connect');
    socket.write(HEAD);
    t.match((await readResponse(socket)).head, /^HTTP\/1\.1 413 /);
    // The client keeps trickling its body and never closes. Once the proxy stops lingering
    // and closes, the next write meets its reset. Bounded: 400 writes, 50 ms apart (20 s).
    const small = Buffer.alloc(1024, 'x');
    let writes = 0;
    let gaveUp!: () => void;
    const clientGaveUp = new Promise<undefined>((resolve) => (gaveUp = () => resolve(undefined)));
    const trickle = setInterval(() => {
      if (socket.destroyed) return clearInterval(trickle);
      if (++writes > 400) {
        clearInterval(trickle);
        return gaveUp();
      }
      socket.write(small, () => {});
    }, 50);
    t.teardown(() => clearInterval(trickle));
    const err = (await Promise.race([failed, clientGaveUp])) as NodeJS.ErrnoException | undefined;
    clearInterval(trickle);
    t.ok(err, `the proxy closed the connection before the client's 400 writes ran out (${writes} writes)`);
    t.match(err?.code, /^(ECONNRESET|EPIPE)$/, 'seen by the client as a reset');
    socket.destroy();
  });
});
