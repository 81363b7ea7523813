// Runs one hostile case (test/hostile/cases.ts) against a daemon and checks the client's
// reply and what the backends received; and starts the daemon the table runs against.
import type { Test } from 'tap';
import type { ServerResponse } from 'node:http';
import { startBackend, type TestBackend } from '../support/backend';
import { startDaemon, type Daemon } from '../support/daemon';
import { LIMITS, type Ctx, type HostileCase } from './cases';
import { bodyJson, rawSend, trailing } from './raw';

const ok = (_req: unknown, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  res.end('ok');
};

/** A well-formed request after each case: the backend must see it next, and only it. */
async function sentinel(port: number, id: string): Promise<number | undefined> {
  const r = await rawSend(port, `GET /v1/sentinel HTTP/1.1\r\nHost: api.example\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
  return r.status;
}

export async function runCase(t: Test, c: HostileCase, port: number, backend: TestBackend, other: TestBackend, ctx: Ctx, n: number): Promise<void> {
  const bytesBefore = backend.bytesReceived();
  const otherBefore = other.bytesReceived();
  const requestsBefore = backend.requests.length;

  const r = await rawSend(port, c.bytes(ctx), { trickle: c.trickle, timeoutMs: 8000 });

  t.ok(r.closed, `the server closed the connection (after ${r.elapsedMs} ms)`);
  t.equal(r.status, c.reply.status, `status ${c.reply.status}`);
  if (c.reply.code) {
    t.equal(bodyJson(r)?.error?.code, c.reply.code, `error code ${c.reply.code}`);
    t.match(r.heads.at(-1)?.headers['content-type'] ?? '', /^application\/json/, 'OpenAI-style JSON error');
  }
  t.equal(trailing(r), '', 'nothing after the final response (one answer per request)');
  if (c.reply.within !== undefined) t.ok(r.elapsedMs <= c.reply.within, `closed within ${c.reply.within} ms (${r.elapsedMs} ms)`);
  if (c.interim) t.same(r.heads.slice(0, -1).map((h) => h.status), c.interim, 'interim responses');

  t.equal(other.bytesReceived(), otherBefore, 'zero bytes at the backend the request named');
  if (c.upstream === 'nothing') {
    t.equal(backend.bytesReceived(), bytesBefore, 'zero bytes at the configured backend');
    t.equal(await sentinel(port, `sentinel-${n}`), 200, 'a sentinel request after the case passes');
    const seen = backend.requests.slice(requestsBefore);
    t.same(
      seen.map((s) => s.url),
      ['/v1/sentinel'],
      'the backend saw only the sentinel',
    );
  } else {
    const seen = backend.requests.slice(requestsBefore);
    t.equal(seen.length, 1, 'the backend got exactly one request');
    if (seen[0]) {
      const { expect, ...actual } = c.upstream(seen[0], ctx);
      t.same(actual, expect, 'what the backend received');
    }
  }
}

export interface HostileRig {
  d: Daemon;
  backend: TestBackend;
  other: TestBackend;
  ctx: Ctx;
}

/** One backend in the only pool, another that no pool names; health checks off (no stray bytes). */
export async function startRig(t: Test): Promise<HostileRig> {
  const backend = await startBackend(ok);
  const other = await startBackend(ok);
  t.teardown(async () => {
    await backend.close();
    await other.close();
  });
  const d = await startDaemon({
    limits: LIMITS,
    pools: { p: { backends: [backend.url], strategy: 'round-robin', health: { enabled: false }, retries: { max: 0 } } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(() => d.stop().then(() => undefined));
  return { d, backend, other, ctx: { backendPort: backend.port, otherPort: other.port } };
}
