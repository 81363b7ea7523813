// Route weight tables from Consul KV: `<prefix>routes` is watched with blocking queries and
// its text handed over on every change; errors hand over nothing.
import { EventEmitter } from 'node:events';
import t, { type Test } from 'tap';
import { KvRoutesWatch } from '../../../lib/discovery/consul-kv';
import type { ConsulTestServer } from '../../support/consul/server';
import { next, settings, startConsul, TEST_RETRY } from './support';

const ROUTES_V1 = 'routes:\n  - name: chat\n    split: { blue: 90, green: 10 }\n';
const ROUTES_V2 = 'routes:\n  - name: chat\n    split: { blue: 50, green: 50 }\n';

/** Writes through the server's own store: synchronous, and not subject to injected HTTP faults. */
function put(server: ConsulTestServer, key: string, text: string): void {
  server.dc(undefined).kv.put(key, Buffer.from(text), 0);
}

function startKv(t: Test, server: ConsulTestServer) {
  const updates: [string, number][] = [];
  const events = new EventEmitter();
  const watch = new KvRoutesWatch({
    consul: settings(server.url, { kv: { enabled: true, prefix: 'switchyard/' } }).consul,
    onRoutes: (text, index) => {
      updates.push([text, index]);
      events.emit('routes');
    },
    retry: TEST_RETRY,
  });
  watch.start();
  t.teardown(() => watch.stop());
  return { watch, updates, nextUpdate: () => next(events, 'routes') };
}

t.test('a missing key reports nothing; puts deliver the text; a delete delivers the empty text', async (t) => {
  const server = await startConsul(t);
  const { watch, updates, nextUpdate } = startKv(t, server);
  await server.waitForBlocked();
  t.same(updates, [], 'no key, no routes from KV');
  t.equal(server.requests[0]!.path, '/v1/kv/switchyard/routes');

  let update = nextUpdate();
  put(server, 'switchyard/routes', ROUTES_V1);
  await update;
  t.equal(updates.at(-1)![0], ROUTES_V1);
  t.ok(updates.at(-1)![1] > 0, 'with its index');

  update = nextUpdate();
  put(server, 'switchyard/routes', ROUTES_V2);
  await update;
  t.equal(updates.at(-1)![0], ROUTES_V2);

  update = nextUpdate();
  server.dc(undefined).kv.delete('switchyard/routes');
  await update;
  t.same(updates.map(([text]) => text), [ROUTES_V1, ROUTES_V2, '']);
  t.match(watch.status(), { kind: 'consul-kv', ok: true, detail: { key: 'switchyard/routes' } });
});

t.test('a rewrite of the same text (a new index) delivers nothing', async (t) => {
  const server = await startConsul(t);
  put(server, 'switchyard/routes', ROUTES_V1);
  const { updates, nextUpdate } = startKv(t, server);
  await nextUpdate();
  await server.waitForBlocked();
  const requests = server.requests.length;
  put(server, 'switchyard/routes', ROUTES_V1);
  await server.waitForRequest((r) => server.requests.indexOf(r) >= requests);
  await server.waitForBlocked();
  t.equal(updates.length, 1);
});

t.test('errors keep the last routes and back off; the change arrives once Consul answers', async (t) => {
  const server = await startConsul(t);
  put(server, 'switchyard/routes', ROUTES_V1);
  const { watch, updates, nextUpdate } = startKv(t, server);
  await nextUpdate();
  await server.waitForBlocked();
  server.failNext(3, { path: '/v1/kv/' });
  const failed = next(watch, 'fail');
  put(server, 'switchyard/other', 'x'); // the parked query ends (on this write or at its wait); the next three fail
  await failed;
  t.equal(watch.status().ok, false);
  t.same(updates.length, 1, 'nothing delivered on errors');
  const update = nextUpdate();
  put(server, 'switchyard/routes', ROUTES_V2);
  await update;
  t.same(updates.map(([text]) => text), [ROUTES_V1, ROUTES_V2]);
  t.equal(watch.status().ok, true);
});
