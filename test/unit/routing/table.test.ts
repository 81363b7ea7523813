// RouteTable (lib/routing/table.ts): routes compiled from a validated config. A request
// matches a route when its path prefix, its headers and its body's `model` all match; the
// first such route wins. Also: which models the table serves (GET /v1/models), whether bodies
// must be inspected, and what /routes shows.
import t from 'tap';
import { parseConfigText } from '../../../lib/config/load';
import type { Config } from '../../../lib/config/schema';
import { RouteTable } from '../../../lib/routing/table';
import type { PoolRuntime } from '../../../lib/routing/pool';
import { stringify } from 'yaml';

function configOf(doc: Record<string, unknown>): Config {
  const loaded = parseConfigText(stringify(doc));
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n'));
  return loaded.config;
}

/** Stand-ins for pools: the table only keeps them as split targets. */
function poolsOf(config: Config): Map<string, PoolRuntime> {
  return new Map(Object.keys(config.pools).map((name) => [name, { name } as unknown as PoolRuntime]));
}

function tableOf(doc: Record<string, unknown>): RouteTable {
  const config = configOf(doc);
  return new RouteTable(config, poolsOf(config), 'test-hash');
}

const POOLS = {
  blue: { backends: ['http://127.0.0.1:1'], strategy: 'round-robin' },
  green: { backends: ['http://127.0.0.1:2'], strategy: 'round-robin' },
  other: { backends: ['http://127.0.0.1:3'], strategy: 'round-robin' },
};

const matchName = (table: RouteTable, path: string, headers: Record<string, string | string[] | undefined>, model?: string) =>
  table.match(path, headers, model)?.name;

t.test('model: compared with the body model, one name or a list', async (t) => {
  const table = tableOf({
    pools: POOLS,
    routes: [
      { name: 'llama', match: { model: ['llama-3-8b', 'llama3'] }, pool: 'blue' },
      { name: 'mistral', match: { model: 'mistral-7b' }, pool: 'green' },
    ],
  });
  t.equal(matchName(table, '/v1/chat/completions', {}, 'llama-3-8b'), 'llama');
  t.equal(matchName(table, '/v1/chat/completions', {}, 'llama3'), 'llama', 'any name of the list');
  t.equal(matchName(table, '/v1/chat/completions', {}, 'mistral-7b'), 'mistral', 'a single string');
  t.equal(matchName(table, '/v1/chat/completions', {}, 'LLAMA3'), undefined, 'names are compared exactly (case matters)');
  t.equal(matchName(table, '/v1/chat/completions', {}, 'llama'), undefined, 'no prefix matching of model names');
  t.equal(matchName(table, '/v1/chat/completions', {}, undefined), undefined, 'a request without a model matches no model route');
  t.same(table.models, ['llama-3-8b', 'llama3', 'mistral-7b'], 'the models served, in route order');
  t.equal(table.inspectBody, true, 'model routes need the body inspected');
});

t.test('path_prefix: a string prefix of the path (query included)', async (t) => {
  const table = tableOf({
    pools: POOLS,
    routes: [
      { name: 'v1', match: { path_prefix: '/v1/' }, pool: 'blue' },
      { name: 'embed', match: { path_prefix: '/embed' }, pool: 'green' },
    ],
  });
  t.equal(matchName(table, '/v1/chat/completions', {}), 'v1');
  t.equal(matchName(table, '/v1/', {}), 'v1', 'the prefix itself');
  t.equal(matchName(table, '/v1', {}), undefined, '/v1 is not under /v1/');
  t.equal(matchName(table, '/v2/chat', {}), undefined);
  t.equal(matchName(table, '/embeddings?x=1', {}), 'embed', 'a plain string prefix: /embed covers /embeddings');
  t.equal(matchName(table, '/V1/chat', {}), undefined, 'paths are case-sensitive');
  t.equal(table.servesPath('/v1/models'), true);
  t.equal(table.servesPath('/other'), false);
  t.equal(table.inspectBody, false, 'no model route, no body strategy: bodies are not inspected');
  t.same(table.models, [], 'no models named');
});

t.test('headers: every listed header must be present with exactly that value', async (t) => {
  const table = tableOf({
    pools: POOLS,
    routes: [
      { name: 'tenant-a-beta', match: { headers: { 'X-Tenant': 'a', 'x-beta': '1' } }, pool: 'green' },
      { name: 'tenant-a', match: { headers: { 'x-tenant': 'a' } }, pool: 'blue' },
    ],
  });
  t.equal(matchName(table, '/', { 'x-tenant': 'a', 'x-beta': '1' }), 'tenant-a-beta', 'all headers present');
  t.equal(matchName(table, '/', { 'x-tenant': 'a' }), 'tenant-a', 'one missing: the next route');
  t.equal(matchName(table, '/', { 'x-tenant': 'a', 'x-beta': '2' }), 'tenant-a', 'a different value does not match');
  t.equal(matchName(table, '/', { 'x-tenant': 'A' }), undefined, 'values are compared exactly');
  t.equal(matchName(table, '/', { 'x-tenant': ['a', 'b'] }), undefined, 'a repeated header is not a match');
  t.equal(matchName(table, '/', {}), undefined);
  t.same(
    (table.describe().routes[0]!.match as { headers: Record<string, string> }).headers,
    { 'x-tenant': 'a', 'x-beta': '1' },
    'header names from the config are lower-cased (node gives them lower-cased)',
  );
});

t.test('all conditions of a route together; the first matching route wins', async (t) => {
  const table = tableOf({
    pools: POOLS,
    routes: [
      { name: 'canary-testers', match: { model: 'llama3', path_prefix: '/v1/', headers: { 'x-canary': 'yes' } }, pool: 'green' },
      { name: 'chat', match: { model: ['llama3', 'llama-3-8b'], path_prefix: '/v1/' }, split: { blue: 90, green: 10 } },
      { name: 'chat-shadow', match: { model: 'llama3' }, pool: 'other' },
      { name: 'fallback', match: { path_prefix: '/' }, pool: 'other' },
    ],
  });
  t.equal(matchName(table, '/v1/chat/completions', { 'x-canary': 'yes' }, 'llama3'), 'canary-testers');
  t.equal(matchName(table, '/v1/chat/completions', { 'x-canary': 'no' }, 'llama3'), 'chat', 'header differs: next route');
  t.equal(matchName(table, '/v2/chat', { 'x-canary': 'yes' }, 'llama3'), 'chat-shadow', 'path differs: the first route that still matches');
  t.equal(matchName(table, '/v1/chat/completions', {}, 'llama-3-8b'), 'chat');
  t.equal(matchName(table, '/v1/chat/completions', {}, 'gpt-4'), 'fallback', 'unknown model: falls through to a route without model');
  t.equal(matchName(table, '/v1/chat/completions', {}, undefined), 'fallback');
  t.equal(table.match('/v1/x', {}, 'llama3')!.split.sides.length, 2, 'the matched route carries its weight table');

  const reordered = tableOf({
    pools: POOLS,
    routes: [
      { name: 'fallback', match: { path_prefix: '/' }, pool: 'other' },
      { name: 'chat', match: { model: 'llama3', path_prefix: '/v1/' }, pool: 'blue' },
    ],
  });
  t.equal(matchName(reordered, '/v1/chat/completions', {}, 'llama3'), 'fallback', 'order decides, not specificity');

  const empty = tableOf({ pools: POOLS, routes: [{ name: 'any', pool: 'blue' }] });
  t.equal(matchName(empty, '/anything', { a: 'b' }, 'whatever'), 'any', 'a route without match conditions takes everything');
});

t.test('splits: pools sorted by name with their weights; `pool:` is a one-sided split', async (t) => {
  const config = configOf({
    pools: POOLS,
    routes: [
      { name: 'chat', match: { model: 'm' }, split: { green: 10, blue: 90, other: 0 }, sticky: { header: 'x-session-id' } },
      { name: 'one', pool: 'other', rewrite_model: 'real-name', priority: 'critical' },
    ],
  });
  const pools = poolsOf(config);
  const table = new RouteTable(config, pools, 'abc123');
  const chat = table.routes[0]!;
  t.same(chat.split.sides.map((s) => [s.name, s.weight]), [['blue', 90], ['green', 10], ['other', 0]]);
  t.equal(chat.split.sides[0]!.target, pools.get('blue'), 'each side targets the pool object of this generation');
  t.same(chat.pools, ['blue', 'green', 'other']);
  t.same(chat.sticky, { header: 'x-session-id' });
  const one = table.routes[1]!;
  t.same(one.split.sides.map((s) => [s.name, s.weight]), [['other', 1]]);
  t.equal(one.rewriteModel, 'real-name');
  t.equal(one.priority, 'critical');
  t.equal(table.inspectBody, true, 'rewrite_model needs the body');

  const d = table.describe();
  t.equal(d.hash, 'abc123');
  t.match(d.created_at, /^\d{4}-\d\d-\d\dT/);
  t.same(d.routes.map((r) => [r.name, r.split]), [
    ['chat', { blue: 90, green: 10, other: 0 }],
    ['one', { other: 1 }],
  ]);
  t.same(d.routes[0]!.match, { model: ['m'], path_prefix: undefined, headers: undefined });
});

t.test('inspectBody: on for body-reading strategies and sticky body keys', async (t) => {
  t.equal(
    tableOf({ pools: { ...POOLS, blue: { backends: ['http://127.0.0.1:1'], strategy: 'prefix-affinity' } }, routes: [{ name: 'r', pool: 'blue' }] })
      .inspectBody,
    true,
    'prefix-affinity reads the prompt',
  );
  t.equal(
    tableOf({ pools: { ...POOLS, blue: { backends: ['http://127.0.0.1:1'], strategy: 'session-affinity' } }, routes: [{ name: 'r', pool: 'blue' }] })
      .inspectBody,
    true,
    'session-affinity reads `user`',
  );
  t.equal(tableOf({ pools: POOLS, routes: [{ name: 'r', split: { blue: 1, green: 1 }, sticky: { body: 'user' } }] }).inspectBody, true, 'sticky on `user`');
  t.equal(tableOf({ pools: POOLS, routes: [{ name: 'r', split: { blue: 1, green: 1 }, sticky: { header: 'x-s' } }] }).inspectBody, false, 'sticky on a header alone does not');
});
