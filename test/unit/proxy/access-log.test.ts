// Access lines: pino's layout, one JSON object per line, undefined fields left out,
// client-controlled strings escaped; lines reach the sink in chunks and none is lost.
import t from 'tap';
import { ACCESS_CHUNK, AccessLog } from '../../../lib/proxy/access-log';

function sink() {
  const chunks: Buffer[] = [];
  return { chunks, write: (c: Buffer) => void chunks.push(Buffer.from(c)), text: () => Buffer.concat(chunks).toString('utf8') };
}

t.test('a line has pino fields then the request fields', async (t) => {
  const s = sink();
  const log = new AccessLog(s, 4242);
  log.write(Date.now(), 'POST', '/v1/chat/completions', 'id-1', 'chat', 'blue', 'b1:8000', 200, 302, 12, 40, 1, 'ok');
  t.equal(s.chunks.length, 0, 'held until flushed');
  log.flush();
  const [line, rest] = s.text().split('\n');
  t.equal(rest, '', 'one line, newline-terminated');
  const o = JSON.parse(line!);
  t.match(o, { level: 30, pid: 4242, type: 'access', req_id: 'id-1', method: 'POST', path: '/v1/chat/completions', route: 'chat', pool: 'blue', backend: 'b1:8000', status: 200, bytes: 302, ttfb_ms: 12, duration_ms: 40, attempts: 1, outcome: 'ok' });
  t.type(o.time, 'number');
  t.same(Object.keys(o).slice(0, 5), ['level', 'time', 'pid', 'type', 'req_id'], "pino's order first");
});

t.test('no backend and no first byte: the fields are left out', async (t) => {
  const s = sink();
  const log = new AccessLog(s);
  log.write(Date.now(), 'GET', '/nowhere', 'id-2', '', '', undefined, 404, 0, -1, 1, 0, 'rejected');
  log.flush();
  const o = JSON.parse(s.text());
  t.notOk('backend' in o);
  t.notOk('ttfb_ms' in o);
  t.equal(o.status, 404);
});

t.test('client-controlled strings are escaped', async (t) => {
  const s = sink();
  const log = new AccessLog(s);
  const path = '/a"b\\c\n\u0001é漢';
  log.write(Date.now(), 'GET', path, 'x"y', 'r', 'p', 'b', 200, 0, 1, 1, 1, 'ok');
  log.flush();
  const lines = s.text().split('\n');
  t.equal(lines.length, 2, 'the newline in the path did not split the line');
  const o = JSON.parse(lines[0]!);
  t.equal(o.path, path);
  t.equal(o.req_id, 'x"y');
});

t.test('many lines: chunks of at most ACCESS_CHUNK bytes, every line whole, in order', async (t) => {
  const s = sink();
  const log = new AccessLog(s);
  const n = 3000;
  for (let i = 0; i < n; i++) log.write(Date.now(), 'POST', `/p/${'é'.repeat(i % 50)}`, `id-${i}`, 'r', 'p', 'b', 200, i, 1, 2, 1, 'ok');
  t.ok(s.chunks.length > 1, 'full chunks were handed over before flush');
  t.ok(s.chunks.every((c) => c.length <= ACCESS_CHUNK), `chunks within ${ACCESS_CHUNK} bytes`);
  log.flush();
  const lines = s.text().trimEnd().split('\n').map((l) => JSON.parse(l) as { req_id: string });
  t.equal(lines.length, n);
  t.same(lines.map((l) => l.req_id), Array.from({ length: n }, (_, i) => `id-${i}`));
});

t.test('names that change from line to line are each escaped for their own line', async (t) => {
  const s = sink();
  const log = new AccessLog(s);
  const rows = [
    ['GET', 'r"1', 'p\\1', 'b1'],
    ['POST', 'r2', 'p\\1', 'b"2'],
    ['GET', 'r"1', 'p2', 'b1'],
  ] as const;
  for (const [method, route, pool, backend] of rows) log.write(Date.now(), method, '/x', 'id', route, pool, backend, 200, 0, 1, 1, 1, 'ok');
  log.flush();
  const lines = s.text().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  t.same(
    lines.map((l) => [l.method, l.route, l.pool, l.backend]),
    rows.map((r) => [...r]),
  );
});

t.test('a line longer than a chunk is written on its own', async (t) => {
  const s = sink();
  const log = new AccessLog(s);
  log.write(Date.now(), 'GET', '/short', 'a', 'r', 'p', 'b', 200, 0, 1, 1, 1, 'ok');
  const long = `/${'x'.repeat(ACCESS_CHUNK / 2)}é`; // × 3 exceeds a chunk
  log.write(Date.now(), 'GET', long, 'b', 'r', 'p', 'b', 200, 0, 1, 1, 1, 'ok');
  log.flush();
  const lines = s.text().trimEnd().split('\n').map((l) => JSON.parse(l) as { req_id: string; path: string });
  t.same(lines.map((l) => l.req_id), ['a', 'b'], 'order kept');
  t.equal(lines[1]!.path, long);
  log.flush();
  t.equal(s.chunks.length, 2, 'flush with nothing pending writes nothing');
});
