// C07: `wait` is a Go duration (default 5 m, capped), garbage `wait`/`index` are 400s, and
// the npm Watch ends on that 400.
import Consul from 'consul';
import t from 'tap';
import { parseBlocking } from '../support/consul/blocking';
import { call, portOf, startConsul } from './helpers';

t.test('C07: wait and index parsing and limits', async (t) => {
  const consul = await startConsul(t, { maxQueryTimeMs: 400 });
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  const idx = consul.serviceIndex('svc');

  for (const [q, body] of [
    ['index=1&wait=30', 'Invalid wait time'],
    ['index=1&wait=abc', 'Invalid wait time'],
    ['index=-1', 'Invalid index'],
    ['index=abc', 'Invalid index'],
    ['index=1.5', 'Invalid index'],
  ]) {
    const res = await call(consul.url, `/v1/health/service/svc?${q}`);
    t.equal(res.status, 400, q);
    t.equal(res.text, body, q);
    t.match(res.headers.get('content-type'), /^text\/plain/);
  }

  for (const wait of ['250ms', '1m30s', '5m', '0']) {
    t.equal((await call(consul.url, `/v1/health/service/svc?wait=${wait}`)).status, 200, `wait=${wait} parses`);
  }

  // maxQueryTimeMs stands in for Consul's 10 m cap: 20 m is cut to 400 ms (+ jitter < 1/16).
  const capped = await call(consul.url, `/v1/health/service/svc?index=${idx}&wait=20m`);
  // Upper bounds only tell "this wait" from the minutes-long alternatives; the exact jitter
  // range is checked on the clock-free parser below.
  t.ok(capped.ms >= 395 && capped.ms < 2000, `20m capped: held ${capped.ms.toFixed(0)} ms`);
  const short = await call(consul.url, `/v1/health/service/svc?index=${idx}&wait=250ms`);
  t.ok(short.ms >= 245 && short.ms < 2000, `250ms honoured: held ${short.ms.toFixed(0)} ms`);
});

t.test('C07: timeout is min(wait, max), or the default, plus a jitter in [0, timeout/16)', async (t) => {
  const times = { defaultQueryTimeMs: 300_000, maxQueryTimeMs: 600_000 };
  const sample = (q: string) => Array.from({ length: 200 }, () => parseBlocking(new URLSearchParams(q), times).timeoutMs);
  for (const [q, base] of [
    ['index=5&wait=1m30s', 90_000],
    ['index=5&wait=20m', 600_000],
    ['index=5', 300_000],
    ['index=5&wait=0', 300_000],
  ] as const) {
    const all = sample(q);
    t.ok(all.every((ms) => ms >= base && ms < base + base / 16), `${q}: within [${base}, ${base * 17 / 16})`);
    t.ok(all.some((ms) => ms > base), `${q}: jitter is applied`);
  }
  t.equal(parseBlocking(new URLSearchParams('index=7&wait=1s'), times).minIndex, 7);
});

t.test('C07: the default wait is used when wait is absent (defaultQueryTimeMs)', async (t) => {
  const consul = await startConsul(t, { defaultQueryTimeMs: 300 });
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc' } });
  const res = await call(consul.url, `/v1/health/service/svc?index=${consul.serviceIndex('svc')}`);
  t.ok(res.ms >= 295 && res.ms < 2000, `held ${res.ms.toFixed(0)} ms`);
});

t.test('C07: the npm Watch ends on the 400', async (t) => {
  const consul = await startConsul(t);
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const watch = client.watch({ method: client.health.service, options: { service: 'svc', index: '-1' } });
  const errors: Array<{ statusCode?: number; message: string }> = [];
  watch.on('error', (err: { statusCode?: number; message: string }) => errors.push(err));
  await new Promise<void>((resolve) => watch.on('end', () => resolve()));
  t.equal(errors.length, 1);
  t.equal(errors[0].statusCode, 400);
  t.equal(errors[0].message, 'Invalid index');
  t.equal(consul.countRequests('/v1/health/service/svc'), 1, 'no retry after a 400');
});
