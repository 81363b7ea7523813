// GET /v1/models on the proxy listener: the models the routes serve, in the OpenAI list
// shape, answered by Switchyard itself (no upstream sees it), following reloads. And the
// 404 a client gets for a model no route serves names the ones that are.
import t from 'tap';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call } from '../../support/http';
import { isReloaded, nextLog, quietPool } from '../routing/support';

t.test('GET /v1/models', async (t) => {
  const backend = await startBackend();
  const config = (routes: object[]) => ({
    pools: { p: quietPool([backend.url]), q: quietPool([backend.url]) },
    routes,
  });
  const d = await startDaemon(
    config([
      { name: 'llama', match: { model: ['llama-3-8b', 'llama3'], path_prefix: '/v1/' }, split: { p: 90, q: 10 } },
      { name: 'mistral', match: { model: 'mistral-7b' }, pool: 'q' },
      { name: 'alias', match: { model: 'llama3' }, pool: 'p', rewrite_model: 'llama-3-8b' },
      { name: 'catch-all-embeddings', match: { path_prefix: '/v1/embeddings' }, pool: 'p' },
    ]),
  );
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  const r = await call(`${d.url}/v1/models`, { headers: { 'x-request-id': 'models-req-1' } });
  t.equal(r.status, 200, '200');
  t.equal(r.headers['content-type'], 'application/json', 'JSON');
  t.equal(r.headers['x-request-id'], 'models-req-1', 'the request id is echoed');
  const body = r.json();
  t.equal(body.object, 'list', 'an OpenAI list');
  t.same(
    body.data.map((m: { id: string }) => m.id),
    ['llama-3-8b', 'llama3', 'mistral-7b'],
    'each model any route matches, once, in route order',
  );
  for (const m of body.data) {
    t.match(m, { object: 'model', owned_by: 'switchyard' }, `${m.id}: OpenAI model object`);
    t.ok(Number.isInteger(m.created) && Math.abs(m.created - Date.now() / 1000) < 600, `${m.id}: created is a Unix time in seconds`);
  }
  t.equal(backend.requests.length, 0, 'answered by Switchyard, not an upstream');

  const q = await call(`${d.url}/v1/models?limit=5`);
  t.equal(q.status, 200, 'a query string is allowed');
  t.same(q.json().data.length, 3, 'same list');

  const generated = await call(`${d.url}/v1/models`);
  t.match(String(generated.headers['x-request-id']), /\S+/, 'a request id is made up when the client sent none');

  t.test('an unknown model: 404 naming the served ones', async (t) => {
    const r = await call(`${d.url}/v1/chat/completions`, { body: '{"model":"gpt-4o","messages":[]}', headers: { 'content-type': 'application/json' } });
    t.equal(r.status, 404, '404');
    t.match(r.json(), { error: { code: 'model_not_found', type: 'not_found_error', message: /gpt-4o.*llama-3-8b, llama3, mistral-7b/ } }, 'model_not_found, with the served models');
    t.equal(backend.requests.length, 0, 'nothing forwarded');
  });

  t.test('the list follows a reload', async (t) => {
    const reloaded = nextLog(d, isReloaded);
    d.writeConfig(
      config([
        { name: 'qwen', match: { model: 'qwen2.5-7b' }, pool: 'p' },
        { name: 'mistral', match: { model: 'mistral-7b' }, pool: 'q' },
      ]),
    );
    await reloaded;
    const after = (await call(`${d.url}/v1/models`)).json();
    t.same(after.data.map((m: { id: string }) => m.id), ['qwen2.5-7b', 'mistral-7b'], 'models of the new routes only');
  });

  t.test('no model routes: an empty list', async (t) => {
    const reloaded = nextLog(d, isReloaded);
    d.writeConfig(config([{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }]));
    await reloaded;
    const r = await call(`${d.url}/v1/models`);
    t.equal(r.status, 200, '200');
    t.same(r.json(), { object: 'list', data: [] }, 'an empty list');
  });
});
