// Errors the proxy answers itself: OpenAI-style JSON with the right status and code,
// content-type application/json, and x-request-id.
import t from 'tap';

type Test = tap.Test;
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call, freePort, chat } from '../../support/http';

function assertShape(t: Test, r: { status: number; headers: Record<string, unknown>; json(): any }, status: number, code: string) {
  t.equal(r.status, status, `status ${status}`);
  t.match(String(r.headers['content-type']), /^application\/json/);
  t.ok(r.headers['x-request-id'], 'carries x-request-id');
  const body = r.json();
  t.same(Object.keys(body), ['error']);
  t.same(Object.keys(body.error).sort(), ['code', 'message', 'type']);
  t.equal(body.error.code, code);
  t.type(body.error.message, 'string');
}

t.test('client errors', async (t) => {
  const backend = await startBackend();
  const dead = await freePort();
  const d = await startDaemon({
    limits: { max_body_size: '1KiB', inspect_body_size: '512B' },
    pools: {
      live: { backends: [backend.url], strategy: 'round-robin' },
      dead: { backends: [`http://127.0.0.1:${dead}`], strategy: 'round-robin', retries: { max: 0 }, health: { enabled: false } },
    },
    routes: [
      { name: 'chat', match: { model: ['llama-3-8b'], path_prefix: '/v1/' }, pool: 'live' },
      { name: 'down', match: { model: 'down-model' }, pool: 'dead' },
    ],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  t.test('404 for an unknown model lists the models served', async (t) => {
    const r = await call(`${d.url}/v1/chat/completions`, { body: chat('gpt-9'), headers: { 'content-type': 'application/json' } });
    assertShape(t, r, 404, 'model_not_found');
    t.match(r.json().error.message, /llama-3-8b/);
  });
  t.test('404 when no route matches', async (t) => {
    assertShape(t, await call(`${d.url}/nothing-here`), 404, 'no_route');
  });
  t.test('400 for malformed JSON on a model route', async (t) => {
    const r = await call(`${d.url}/v1/chat/completions`, { body: '{"model": "llama-3-8b",', headers: { 'content-type': 'application/json' } });
    assertShape(t, r, 400, 'invalid_json');
    t.equal(backend.requests.length, 0, 'nothing forwarded');
  });
  t.test('413 for a body over the limit', async (t) => {
    const r = await call(`${d.url}/v1/chat/completions`, { body: chat('llama-3-8b', { pad: 'x'.repeat(4096) }), headers: { 'content-type': 'application/json' } });
    assertShape(t, r, 413, 'payload_too_large');
    t.equal(backend.requests.length, 0, 'nothing forwarded');
  });
  t.test('502 when the backend refuses the connection', async (t) => {
    const r = await call(`${d.url}/v1/chat/completions`, { body: chat('down-model'), headers: { 'content-type': 'application/json' } });
    assertShape(t, r, 502, 'upstream_connect_failed');
  });
  t.test('GET /v1/models lists the models the routes serve', async (t) => {
    const r = await call(`${d.url}/v1/models`);
    t.equal(r.status, 200);
    const ids = r.json().data.map((m: { id: string }) => m.id).sort();
    t.same(ids, ['down-model', 'llama-3-8b']);
    t.equal(r.json().object, 'list');
  });
});
