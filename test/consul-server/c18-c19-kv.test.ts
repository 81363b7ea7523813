// C18–C19: KV reads (shapes, 404 with index, recurse/keys, blocking on a prefix) and writes
// (JSON true/false, CAS, size limit).
import Consul from 'consul';
import t from 'tap';
import { consulFixture } from '../support/consul/fixtures';
import type { KvJson } from '../support/consul/kv';
import { call, portOf, startConsul } from './helpers';

t.test('C18: KV reads', async (t) => {
  const consul = await startConsul(t);
  consul.loadKv(consulFixture<KvJson[]>('kv-get.recurse.json'));

  const single = await call(consul.url, '/v1/kv/inference%2Frouting%2Fllm-inference');
  t.equal(single.status, 200);
  t.same(single.json(), consulFixture('kv-get.json'), 'single key: an array, as the fixture');
  t.equal(single.index, 4480, 'X-Consul-Index is the ModifyIndex');
  t.equal(single.headers.get('content-type'), 'application/json');

  const recurse = await call(consul.url, '/v1/kv/inference/?recurse');
  t.same(recurse.json(), consulFixture('kv-get.recurse.json'), 'recurse: sorted, null for an empty value');
  t.equal(recurse.index, 4480, 'recurse index: the newest ModifyIndex under the prefix');
  t.same((await call(consul.url, '/v1/kv/inference/?keys&separator=/')).json(), consulFixture('kv-get.keys.json'));
  t.same((await call(consul.url, '/v1/kv/inference/models/?keys')).json(), [
    'inference/models/llama-3-70b-instruct/enabled',
    'inference/models/llama-3-70b-instruct/policy',
  ]);
  const raw = await call(consul.url, '/v1/kv/inference/models/llama-3-70b-instruct/enabled?raw');
  t.same([raw.text, raw.headers.get('content-type')], ['true', 'text/plain']);

  for (const path of ['/v1/kv/missing/key', '/v1/kv/empty/prefix/?recurse', '/v1/kv/empty/prefix/?keys']) {
    const res = await call(consul.url, path);
    t.equal(res.status, 404, path);
    t.equal(res.text, '', `${path}: empty body`);
    t.ok(res.index! >= 1, `${path}: index header ${res.index}`);
  }
  const missing = await call(consul.url, '/v1/kv/');
  t.same([missing.status, missing.text], [400, 'Missing key name']);

  // Blocking on the prefix wakes on a new key and on a delete in the subtree.
  const blocked = call(consul.url, `/v1/kv/inference/?recurse&index=${recurse.index}&wait=30s`);
  await consul.waitForBlocked(1);
  await call(consul.url, '/v1/kv/inference/models/mistral/enabled', { method: 'PUT', body: 'true' });
  const woke = await blocked;
  t.ok(woke.ms < 5000 && woke.index! > recurse.index!, 'a PUT under the prefix wakes it');
  t.equal(woke.json().length, 5);
  const blocked2 = call(consul.url, `/v1/kv/inference/?recurse&index=${woke.index}&wait=30s`);
  await consul.waitForBlocked(1);
  await call(consul.url, '/v1/kv/inference/maintenance/drain', { method: 'DELETE' });
  const woke2 = await blocked2;
  t.ok(woke2.index! > woke.index!, 'a DELETE under the prefix wakes it');
  t.equal(woke2.json().length, 4);

  // A write elsewhere does not wake a prefix watcher.
  const quiet = call(consul.url, `/v1/kv/inference/?recurse&index=${woke2.index}&wait=300ms`);
  await consul.waitForBlocked(1);
  await call(consul.url, '/v1/kv/other', { method: 'PUT', body: 'x' });
  const q = await quiet;
  t.ok(q.ms >= 295, 'unrelated key: held until wait');
  t.equal(q.index, woke2.index);

  // A missing key's watcher returns once it is created (index from the KV table).
  const absent = await call(consul.url, '/v1/kv/later');
  const waiting = call(consul.url, `/v1/kv/later?index=${absent.index}&wait=30s`);
  await consul.waitForBlocked(1);
  await call(consul.url, '/v1/kv/later', { method: 'PUT', body: 'now' });
  t.equal((await waiting).status, 200);

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  t.equal(await client.kv.get('missing/key'), undefined, 'npm client: undefined on 404');
  t.equal((await client.kv.get('inference/routing/llm-inference'))?.Value, Buffer.from(consulFixture<KvJson[]>('kv-get.json')[0].Value!, 'base64').toString());
});

t.test('C19: KV writes', async (t) => {
  const consul = await startConsul(t);
  const put = (path: string, body = '') => call(consul.url, path, { method: 'PUT', body });

  const created = await put('/v1/kv/k?cas=0', 'v1');
  t.same([created.status, created.text, created.headers.get('content-type')], [200, 'true', 'application/json']);
  const again = await put('/v1/kv/k?cas=0', 'v2');
  t.same([again.status, again.text], [200, 'false'], 'cas=0 only creates');
  const modifyIndex = (await call(consul.url, '/v1/kv/k')).json()[0].ModifyIndex;
  t.equal((await put(`/v1/kv/k?cas=${modifyIndex - 1}`, 'v3')).text, 'false', 'cas mismatch is 200 false');
  t.equal((await put(`/v1/kv/k?cas=${modifyIndex}`, 'v3')).text, 'true');
  t.equal(Buffer.from((await call(consul.url, '/v1/kv/k')).json()[0].Value, 'base64').toString(), 'v3');

  const del0 = await call(consul.url, '/v1/kv/k?cas=0', { method: 'DELETE' });
  t.same([del0.text, del0.headers.get('content-type')], ['false', 'application/json'], 'DELETE cas=0 never deletes');
  t.equal((await call(consul.url, '/v1/kv/k')).status, 200);
  t.equal((await call(consul.url, '/v1/kv/k', { method: 'DELETE' })).text, 'true');
  t.equal((await call(consul.url, '/v1/kv/k')).status, 404);

  const big = await put('/v1/kv/big', 'x'.repeat(512 * 1024 + 1));
  t.equal(big.status, 413);
  t.match(big.text, /^Request body\(524289 bytes\) too large, max size: 524288 bytes\./);
  t.equal((await put('/v1/kv/max', 'x'.repeat(512 * 1024))).text, 'true', 'exactly 512 KiB is accepted');

  const conflict = await put('/v1/kv/k?cas=1&acquire=abc');
  t.equal(conflict.status, 400);
  t.match(conflict.text, /^Conflicting flags: /);

  // The npm client decodes the JSON literal: a CAS failure is falsy, never the truthy string "false".
  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  t.equal(await client.kv.set({ key: 'n', value: 'v', cas: 0 }), true);
  const lost: unknown = await client.kv.set({ key: 'n', value: 'v', cas: 0 });
  t.notOk(lost, `second cas=0 set is falsy (${String(lost)})`);
  t.not(lost, 'false');
});
