// Upstream request headers, built from requests parsed by a real node:http server.
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { upstreamRequestHeaders } from '../../../lib/proxy/headers';

/** Send `head` (the lines after the request line) raw; resolve with the request Node parsed. */
async function parsed(head: string[]): Promise<IncomingMessage> {
  const server = createServer({ joinDuplicateHeaders: false });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got = once(server, 'request') as Promise<[IncomingMessage, import('node:http').ServerResponse]>;
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`);
  const [req, res] = await got;
  res.end();
  socket.destroy();
  server.close();
  return req;
}

const ctx = { requestId: 'rid-1', clientIp: '10.0.0.9', proto: 'http', clientHost: 'lb.example' };

/** The name, value list as [name, value] pairs. */
const pairs = (list: string[]) => Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i], list[2 * i + 1]]);

t.test('hop-by-hop and Connection-named fields dropped, names as the client cased them, ours appended', async (t) => {
  const { rawHeaders, headers } = await parsed([
    'Host: lb.example',
    'Content-Type: application/json',
    'Content-Length: 0',
    'Connection: keep-alive, X-Secret',
    'X-Secret: 1',
    'Keep-Alive: timeout=5',
    'X-Forwarded-For: 1.2.3.4',
    'X-Request-Id: theirs',
    'Authorization: Bearer k',
  ]);
  t.same(pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx)), [
    ['Content-Type', 'application/json'],
    ['Content-Length', '0'],
    ['Authorization', 'Bearer k'],
    ['x-forwarded-for', '1.2.3.4, 10.0.0.9'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', 'rid-1'],
    ['x-forwarded-host', 'lb.example'],
  ]);
});

t.test('a rewritten body replaces Content-Length; an upstream Host is set when given', async (t) => {
  const { rawHeaders, headers } = await parsed(['Host: lb.example', 'Content-Length: 0']);
  const out = pairs(upstreamRequestHeaders(rawHeaders, headers.connection, { ...ctx, upstreamHost: '127.0.0.1:9000' }, 42));
  t.same(out.filter(([n]) => n === 'content-length'), [['content-length', '42']]);
  t.same(out.filter(([n]) => n === 'host'), [['host', '127.0.0.1:9000']]);
});

t.test('a repeated field: every line goes upstream as received, in order', async (t) => {
  // Node's parsed object joins repeated list fields and keeps only the first of a singleton
  // (Authorization): the raw list is what goes upstream.
  const { rawHeaders, headers } = await parsed([
    'Host: lb.example',
    'Content-Length: 0',
    'X-Tag: a',
    'Authorization: Bearer first',
    'X-Tag: b',
    'Authorization: Bearer second',
    'X-Forwarded-For: 1.1.1.1',
    'X-Forwarded-For: 2.2.2.2',
  ]);
  t.equal(headers.authorization, 'Bearer first', "Node's parsed object dropped the second Authorization");
  t.same(pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx)), [
    ['Content-Length', '0'],
    ['X-Tag', 'a'],
    ['Authorization', 'Bearer first'],
    ['X-Tag', 'b'],
    ['Authorization', 'Bearer second'],
    ['x-forwarded-for', '1.1.1.1, 2.2.2.2, 10.0.0.9'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', 'rid-1'],
    ['x-forwarded-host', 'lb.example'],
  ]);
});

t.test('the client cannot name our own fields away through Connection', async (t) => {
  const { rawHeaders, headers } = await parsed(['Host: lb.example', 'Content-Length: 0', 'Connection: x-request-id, x-forwarded-for']);
  const out = pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx));
  t.same(out.filter(([n]) => n === 'x-request-id' || n === 'x-forwarded-for'), [
    ['x-forwarded-for', '10.0.0.9'],
    ['x-request-id', 'rid-1'],
  ]);
});

t.test('every spelling of a name is treated alike, on first sight and from the cache', async (t) => {
  const { rawHeaders, headers } = await parsed([
    'host: lb.example',
    'CONTENT-LENGTH: 0',
    'x-FORWARDED-for: 1.2.3.4',
    'TE: trailers',
    'Keep-ALIVE: timeout=5',
    'Connection: X-SECRET',
    'x-secret: 1',
    'X-Kept: yes',
  ]);
  const expected = [
    ['X-Kept', 'yes'],
    ['content-length', '7'],
    ['x-forwarded-for', '1.2.3.4, 10.0.0.9'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', 'rid-1'],
    ['x-forwarded-host', 'lb.example'],
  ];
  t.same(pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx, 7)), expected, 'first request');
  t.same(pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx, 7)), expected, 'the same names again');
  // Without a rewritten body, the client's Content-Length (however spelled) goes upstream.
  t.same(pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx))[0], ['CONTENT-LENGTH', '0']);
});

t.test('many distinct names, and long ones: every field is still classified', async (t) => {
  // More names than the per-name cache keeps (it is cleared when full), and a name longer
  // than it caches: hop-by-hop fields after them are still dropped.
  const many = Array.from({ length: 600 }, (_, i) => `X-N${i}: ${i}`);
  const long = `X-${'L'.repeat(100)}`;
  const { rawHeaders, headers } = await parsed(['Host: lb.example', 'Content-Length: 0', ...many, `${long}: 1`, 'Proxy-Connection: keep-alive', 'Upgrade: h2c']);
  for (let round = 0; round < 2; round++) {
    const out = pairs(upstreamRequestHeaders(rawHeaders, headers.connection, ctx));
    t.equal(out.filter(([n]) => n!.startsWith('X-N')).length, 600, `round ${round}: the 600 names forwarded`);
    t.same(out.filter(([n]) => n === long), [[long, '1']], `round ${round}: the long name forwarded`);
    t.same(out.filter(([n]) => /^(proxy-connection|upgrade)$/i.test(n!)), [], `round ${round}: hop-by-hop dropped`);
  }
});
