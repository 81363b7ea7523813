// C22: every error case of fixtures/errors.json answers its status with a text/plain reason;
// successes are JSON or empty; the npm client surfaces short reasons as err.message.
import Consul from 'consul';
import t from 'tap';
import { consulFixture } from '../support/consul/fixtures';
import type { ConsulTestServer } from '../support/consul/server';
import { call, portOf, type RawResponse, startConsul } from './helpers';

interface ErrorCase {
  request: string;
  status: number;
  body: string;
}

const REGISTER = '/v1/agent/service/register';
const put = (c: ConsulTestServer, path: string, body?: unknown) =>
  call(c.url, path, { method: 'PUT', body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

/** How to provoke each fixture case against a server holding llm-inference and one TCP-checked service. */
const ACTIONS: Record<string, (c: ConsulTestServer, acl: ConsulTestServer) => Promise<RawResponse>> = {
  'GET /v1/health/service/llm-inference?index=1&wait=abc': (c) => call(c.url, '/v1/health/service/llm-inference?index=1&wait=abc'),
  'GET /v1/health/service/llm-inference?index=abc': (c) => call(c.url, '/v1/health/service/llm-inference?index=abc'),
  'GET /v1/health/service/llm-inference?stale&consistent': (c) => call(c.url, '/v1/health/service/llm-inference?stale&consistent'),
  'GET /v1/health/service/llm-inference?passing=maybe': (c) => call(c.url, '/v1/health/service/llm-inference?passing=maybe'),
  'GET /v1/health/service/': (c) => call(c.url, '/v1/health/service/'),
  'GET /v1/health/service/llm-inference?filter=garbage': (c) => call(c.url, '/v1/health/service/llm-inference?filter=garbage'),
  'GET /v1/health/service/llm-inference?dc=nowhere': (c) => call(c.url, '/v1/health/service/llm-inference?dc=nowhere'),
  'any default/consistent read or any write while the cluster has no leader': async (c) => {
    c.setLeader(false);
    try {
      return await call(c.url, '/v1/health/service/llm-inference');
    } finally {
      c.setLeader(true);
    }
  },
  'any request with X-Consul-Token set to an unknown token (ACLs enabled)': (_c, acl) =>
    call(acl.url, '/v1/catalog/services', { headers: { 'X-Consul-Token': 'nope' } }),
  'PUT /v1/agent/service/register with a token lacking service:write': (_c, acl) =>
    call(acl.url, REGISTER, { method: 'PUT', body: JSON.stringify({ Name: 'llm-inference' }), headers: { 'X-Consul-Token': 'reader' } }),
  'GET /v1/health/service/llm-inference or /v1/catalog/services with a token lacking service:read': (_c, acl) =>
    call(acl.url, '/v1/health/service/llm-inference', { headers: { 'X-Consul-Token': 'reader' } }),
  'GET /v1/kv/missing/key': (c) => call(c.url, '/v1/kv/missing/key'),
  'GET /v1/kv/empty/prefix/?recurse': (c) => call(c.url, '/v1/kv/empty/prefix/?recurse'),
  'GET /v1/kv/ (no key, no recurse)': (c) => call(c.url, '/v1/kv/'),
  'PUT /v1/kv/inference/routing/llm-inference?cas=4000 when ModifyIndex is 4480': async (c) => {
    c.loadKv(consulFixture('kv-get.json'));
    return put(c, '/v1/kv/inference/routing/llm-inference?cas=4000', 'x');
  },
  'PUT /v1/kv/k?cas=1&acquire=<session>': (c) => put(c, '/v1/kv/k?cas=1&acquire=...', 'x'),
  'PUT /v1/kv/k with a body larger than kv_max_value_size (default 512 KiB)': (c) => put(c, '/v1/kv/k', 'x'.repeat(600_000)),
  'PUT /v1/kv/a/../b (1.21.5+, later relaxed in 1.21.x/1.22.x)': (c) => put(c, '/v1/kv/a%2F..%2Fb', 'x'),
  'PUT /v1/agent/service/register with malformed JSON or a non-string Meta value': (c) => put(c, REGISTER, '{"Name": "x",'),
  'PUT /v1/agent/service/register without Name': (c) => put(c, REGISTER, { ID: 'x' }),
  'PUT /v1/agent/service/register with Weights.Passing = 0': (c) => put(c, REGISTER, { Name: 'x', Weights: { Passing: 0, Warning: 1 } }),
  "PUT /v1/agent/service/register with Meta key 'consul-x' or a key with invalid characters": (c) =>
    put(c, REGISTER, { Name: 'x', Meta: { 'consul-x': 'v' } }),
  "PUT /v1/agent/service/register with Check.Status = 'healthy'": (c) => put(c, REGISTER, { Name: 'x', Check: { TTL: '10s', Status: 'healthy' } }),
  'PUT /v1/agent/service/deregister/unknown-id': (c) => put(c, '/v1/agent/service/deregister/unknown-id'),
  'PUT /v1/agent/check/pass/unknown-check': (c) => put(c, '/v1/agent/check/pass/unknown-check'),
  'PUT /v1/agent/check/pass/<id of a non-TTL check>': (c) => put(c, '/v1/agent/check/pass/service:tcp-1'),
  'GET /v1/query/does-not-exist/execute': (c) => call(c.url, '/v1/query/does-not-exist/execute'),
  'GET /v1/query/<id>/execute?limit=abc': async (c) => {
    const { ID } = (await call(c.url, '/v1/query', { method: 'POST', body: JSON.stringify({ Service: { Service: 'llm-inference' } }) })).json();
    return call(c.url, `/v1/query/${ID}/execute?limit=abc`);
  },
  'PUT /v1/health/service/llm-inference (wrong method)': (c) => put(c, '/v1/health/service/llm-inference'),
  'GET /v1/nonexistent': (c) => call(c.url, '/v1/nonexistent'),
};

/** The fixture's placeholders ("...", "<id>", "N") match anything. */
function bodyPattern(body: string): RegExp {
  const escaped = body.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\\\.\\\.\\\./g, '.*').replace(/<id>/g, '.*').replace(/\\\(N bytes\\\)/g, '\\(\\d+ bytes\\)')}$`, 's');
}

t.test('C22: error statuses and text/plain bodies of fixtures/errors.json', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'llm-1', Service: 'llm-inference' } });
  await put(consul, REGISTER, { Name: 'tcp', ID: 'tcp-1', Check: { TCP: '127.0.0.1:1', Interval: '10s' } });
  const acl = await startConsul(t, { acl: { tokens: { reader: { accessorId: 'r-1', service: { '': 'read' } } } } });
  acl.registerService({ node: 'n1', service: { ID: 'llm-1', Service: 'llm-inference' } });

  const { cases } = consulFixture<{ cases: ErrorCase[] }>('errors.json');
  for (const c of cases) {
    const act = ACTIONS[c.request];
    if (!act) {
      t.fail(`no action for fixture case ${c.request}`);
      continue;
    }
    const res = await act(consul, acl);
    t.equal(res.status, c.status, `${c.request}: status`);
    if (res.status >= 400) {
      if (c.body !== '') t.match(res.headers.get('content-type'), /^text\/plain; charset=utf-8$/, `${c.request}: text/plain`);
      t.match(res.text, bodyPattern(c.body), `${c.request}: body`);
    }
  }
  const wrong = await put(consul, '/v1/health/service/llm-inference');
  t.equal(wrong.headers.get('allow'), 'OPTIONS,GET');
});

t.test('C22: success content types and the npm client error mapping', async (t) => {
  const consul = await startConsul(t);
  const reg = await put(consul, REGISTER, { Name: 'x', ID: 'x-1', Check: { TTL: '10s' } });
  t.same([reg.status, reg.text, reg.headers.get('content-length')], [200, '', '0']);
  for (const path of ['/v1/agent/check/pass/service:x-1', '/v1/agent/check/warn/service:x-1', '/v1/agent/check/fail/service:x-1', '/v1/agent/service/deregister/x-1']) {
    const r = await put(consul, path);
    t.same([r.status, r.text], [200, ''], path);
  }
  for (const path of ['/v1/health/service/x', '/v1/catalog/services', '/v1/catalog/datacenters', '/v1/coordinate/datacenters', '/v1/agent/services']) {
    t.equal((await call(consul.url, path)).headers.get('content-type'), 'application/json', path);
  }
  const pretty = await call(consul.url, '/v1/catalog/services?pretty');
  t.match(pretty.text, /^\{\n {4}"consul": \[\]/, '?pretty indents');

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const short = await client.query.execute('does-not-exist').catch((e: { statusCode: number; message: string }) => e);
  t.same([short.statusCode, short.message], [404, 'Query not found'], 'short text body becomes err.message');
  const long = await client.agent.service.deregister('unknown-id').catch((e: { statusCode: number; message: string }) => e);
  t.same([long.statusCode, long.message], [404, 'not found'], 'bodies of 80+ chars give the reason phrase');
});
