// C20: token lookup order, unknown tokens, denied writes and single reads, filtered lists.
import Consul from 'consul';
import t from 'tap';
import { call, portOf, startConsul } from './helpers';

const ACL = {
  defaultPolicy: 'deny' as const,
  tokens: {
    'reader-secret': { accessorId: 'reader-accessor', service: { web: 'read' as const }, key: { 'public/': 'read' as const } },
    'writer-secret': { accessorId: 'writer-accessor', service: { '': 'write' as const }, key: { '': 'write' as const } },
    'root-secret': { management: true },
  },
};

t.test('C20: ACL token handling', async (t) => {
  const consul = await startConsul(t, { acl: ACL });
  consul.registerService({ node: 'n1', service: { ID: 'llm-1', Service: 'llm-inference' } });
  consul.registerService({ node: 'n1', service: { ID: 'web-1', Service: 'web' } });
  const as = (token: string) => ({ headers: { 'X-Consul-Token': token } });

  const unknown = await call(consul.url, '/v1/health/service/web', as('bogus'));
  t.same([unknown.status, unknown.text], [403, 'ACL not found']);
  t.equal(unknown.headers.get('x-consul-default-acl-policy'), 'deny', 'policy header on errors too');

  // A denied list read is 200 with the permitted subset, flagged for non-anonymous tokens.
  const hidden = await call(consul.url, '/v1/health/service/llm-inference', as('reader-secret'));
  t.same([hidden.status, hidden.text, hidden.headers.get('x-consul-results-filtered-by-acls')], [200, '[]', 'true']);
  t.equal((await call(consul.url, '/v1/health/service/web', as('reader-secret'))).json().length, 1);
  const anon = await call(consul.url, '/v1/health/service/llm-inference');
  t.same([anon.status, anon.text, anon.headers.get('x-consul-results-filtered-by-acls')], [200, '[]', null], 'anonymous: filtered, no header');
  const catalog = await call(consul.url, '/v1/catalog/services', as('reader-secret'));
  t.same(catalog.json(), { web: [] });
  t.equal(catalog.headers.get('x-consul-results-filtered-by-acls'), 'true');

  // Writes and single-object reads are denied with 403.
  const reg = await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: 'llm-inference' }), ...as('reader-secret') });
  t.equal(reg.status, 403);
  t.equal(reg.text, `Permission denied: token with AccessorID 'reader-accessor' lacks permission 'service:write' on "llm-inference"`);
  t.equal((await call(consul.url, '/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ Name: 'llm-inference' }), ...as('writer-secret') })).status, 200);
  await call(consul.url, '/v1/kv/public/a', { method: 'PUT', body: '1', ...as('writer-secret') });
  await call(consul.url, '/v1/kv/private/b', { method: 'PUT', body: '2', ...as('writer-secret') });
  t.equal((await call(consul.url, '/v1/kv/private/b', as('reader-secret'))).status, 403, 'single key read denied');
  t.equal((await call(consul.url, '/v1/kv/public/a', as('reader-secret'))).status, 200);
  const recurse = await call(consul.url, '/v1/kv/?recurse', as('reader-secret'));
  t.same(recurse.json().map((e: { Key: string }) => e.Key), ['public/a'], 'recurse filtered to the readable keys');
  t.equal((await call(consul.url, '/v1/kv/public/a', { method: 'PUT', body: 'x', ...as('reader-secret') })).status, 403);

  // Lookup order: ?token= wins over the header; Authorization: Bearer is accepted.
  t.equal((await call(consul.url, '/v1/health/service/llm-inference?token=root-secret', as('bogus'))).json().length, 2);
  t.equal((await call(consul.url, '/v1/health/service/llm-inference', { headers: { Authorization: 'bearer root-secret' } })).json().length, 2);
  t.equal((await call(consul.url, '/v1/health/service/llm-inference?token=bogus', as('root-secret'))).status, 403);

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url), defaults: { token: 'reader-secret' } });
  t.teardown(() => client.destroy());
  t.same(await client.health.service('llm-inference'), [], 'npm client token → x-consul-token');
  const err = await client.agent.service.register({ name: 'llm-inference' }).then(
    () => undefined,
    (e: { statusCode: number }) => e,
  );
  t.equal(err?.statusCode, 403);
});

t.test('C20: ACLs disabled: tokens ignored, policy header allow', async (t) => {
  const consul = await startConsul(t);
  const res = await call(consul.url, '/v1/catalog/services', { headers: { 'X-Consul-Token': 'anything' } });
  t.equal(res.status, 200);
  t.equal(res.headers.get('x-consul-default-acl-policy'), 'allow');
});
