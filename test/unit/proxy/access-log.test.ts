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
    ['GET', 'r"1', 'p2', ''],
    ['GET', 'r"1', 'p2', undefined],
    ['GET', 'r"1', 'p2', ''],
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

t.test('every string and number is written as JSON.stringify would (fast path and fallback)', async (t) => {
  // Strings mixing what the byte-by-byte path takes (printable ASCII) with what it hands to
  // JSON.stringify: quotes, backslashes, control characters, DEL, non-ASCII, a lone surrogate.
  const pieces = ['a', 'Z', '/', ' ', '~', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '東', '🚂', '\ud800'];
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const text = () => Array.from({ length: rnd(12) }, () => pieces[rnd(pieces.length)]).join('');
  const numbers = [0, 7, 10, 99, 100, 999_999_999, 1e9, 1e9 + 5, 1234567890123, 1_700_000_000_007, -5, -1e9 - 1, 2 ** 53 - 1, 2 ** 53 + 2, 1.5, -0.25];
  const s = sink();
  const log = new AccessLog(s, 4242);
  const expected: Record<string, unknown>[] = [];
  for (let i = 0; i < 400; i++) {
    const row = {
      time: numbers[rnd(numbers.length)]!, method: text(), path: text(), req_id: text(), route: text(), pool: text(),
      backend: rnd(3) === 0 ? undefined : text(), status: numbers[rnd(numbers.length)]!, bytes: numbers[rnd(numbers.length)]!,
      ttfb_ms: rnd(3) === 0 ? -1 : numbers[rnd(numbers.length)]!, duration_ms: numbers[rnd(numbers.length)]!,
      attempts: numbers[rnd(numbers.length)]!, outcome: text(),
    };
    log.write(row.time, row.method, row.path, row.req_id, row.route, row.pool, row.backend, row.status, row.bytes, row.ttfb_ms, row.duration_ms, row.attempts, row.outcome);
    const { backend, ttfb_ms, ...rest } = row;
    // What JSON.parse(JSON.stringify(x)) gives: a lone surrogate becomes U+FFFD once encoded to UTF-8.
    const viaJson = JSON.parse(Buffer.from(JSON.stringify({ ...rest, backend, ttfb_ms: ttfb_ms >= 0 ? ttfb_ms : undefined })).toString()) as Record<string, unknown>;
    expected.push({ level: 30, pid: 4242, type: 'access', ...viaJson });
  }
  log.flush();
  const lines = s.text().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, expected.length);
  let same = 0;
  for (let i = 0; i < lines.length; i++) if (JSON.stringify(sorted(lines[i]!)) === JSON.stringify(sorted(expected[i]!))) same++;
  t.equal(same, expected.length, 'every line parses to the fields it was given');
  const long = `/${'"'.repeat(ACCESS_CHUNK / 4)}`; // its escaped bound exceeds a chunk: the string path
  log.write(1, 'GET', long, 'id', 'r', 'p', undefined, 200, 0, -1, 3, 1, 'ok');
  log.flush();
  const last = JSON.parse(s.text().trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
  t.same(last, { level: 30, time: 1, pid: 4242, type: 'access', req_id: 'id', method: 'GET', path: long, route: 'r', pool: 'p', status: 200, bytes: 0, duration_ms: 3, attempts: 1, outcome: 'ok' });
});

function sorted(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
