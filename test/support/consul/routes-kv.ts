// /v1/kv/:key (agent/kvs_endpoint.go): GET with recurse/keys/separator/raw and blocking,
// PUT with flags/cas (JSON true/false), DELETE with recurse/cas.
import { block, parseBlocking, parseConsistency } from './blocking';
import type { Ctx, Handler } from './context';
import { ConsulError, type Reply, uintParam } from './http';
import { kvJson } from './kv';

export const KV_MAX_VALUE_SIZE = 512 * 1024;

/** Consul prints the query re-encoded, which sorts it by key (url.Values.Encode). */
function conflictingFlags(query: URLSearchParams): ConsulError {
  const sorted = new URLSearchParams([...query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return new ConsulError(400, `Conflicting flags: ${sorted.toString()}`);
}

function checkKey(key: string): void {
  if (key.split('/').includes('..')) throw new ConsulError(400, 'URL path contains invalid traversal sequence');
  if (key !== key.trim()) throw new ConsulError(400, 'Key contains leading or trailing whitespace');
}

async function kvGet(ctx: Ctx, key: string): Promise<Reply | undefined> {
  const { query } = ctx.req;
  const dc = ctx.core.dc(query.get('dc'));
  const consistency = parseConsistency(query);
  const params = parseBlocking(query, ctx.core.times);
  const keysOnly = query.has('keys');
  const recurse = query.has('recurse') || keysOnly;
  if (key === '' && !recurse) throw new ConsulError(400, 'Missing key name');
  checkKey(key);
  ctx.core.leadership.requireForRead(consistency);
  if (!recurse) ctx.authz.require('key', key, 'read');

  const separator = query.get('separator') ?? '';
  const run = () => (recurse ? dc.kv.list(key) : dc.kv.get(key));
  const result = await block(dc.raft, params, run, ctx.req.signal, ctx.core.tracker);
  if (!result) return undefined;
  const headers = ctx.core.leadership.metaHeaders(result.index, consistency);

  if (keysOnly) {
    const { keys } = dc.kv.keys(key, separator);
    const visible = keys.filter((k) => ctx.authz.can('key', k, 'read'));
    if (visible.length === 0 && key !== '') return { status: 404, headers };
    return { json: visible, headers };
  }
  if (recurse) {
    const visible = dc.kv.list(key).entries.filter((e) => ctx.authz.can('key', e.Key, 'read'));
    if (visible.length === 0) return { status: 404, headers };
    return { json: visible.map(kvJson), headers };
  }
  const { entry } = dc.kv.get(key);
  if (!entry) return { status: 404, headers };
  if (query.has('raw')) {
    return {
      raw: { body: entry.Value ?? Buffer.alloc(0), contentType: 'text/plain' },
      headers: { ...headers, 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' },
    };
  }
  return { json: [kvJson(entry)], headers };
}

function kvPut(ctx: Ctx, key: string): Reply {
  const { query, body } = ctx.req;
  const dc = ctx.core.dc(query.get('dc'));
  if (key === '') throw new ConsulError(400, 'Missing key name');
  checkKey(key);
  const lockFlags = ['cas', 'acquire', 'release'].filter((f) => query.has(f));
  if (lockFlags.length > 1) throw conflictingFlags(query);
  const flags = uintParam(query, 'flags', 'Invalid flags') ?? 0;
  const cas = uintParam(query, 'cas', 'Invalid cas index');
  if (body.length > KV_MAX_VALUE_SIZE) {
    throw new ConsulError(
      413,
      `Request body(${body.length} bytes) too large, max size: ${KV_MAX_VALUE_SIZE} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
    );
  }
  ctx.authz.require('key', key, 'write');
  ctx.core.leadership.requireForWrite();
  // Sessions are not modelled: every session ID is unknown, as after its invalidation.
  if (query.has('acquire') || query.has('release')) {
    throw new ConsulError(500, `invalid session "${query.get('acquire') ?? query.get('release')}"`);
  }
  return { json: dc.kv.put(key, body, flags, cas) };
}

function kvDelete(ctx: Ctx, key: string): Reply {
  const { query } = ctx.req;
  const dc = ctx.core.dc(query.get('dc'));
  const recurse = query.has('recurse');
  if (key === '' && !recurse) throw new ConsulError(400, 'Missing key name');
  checkKey(key);
  if (recurse && query.has('cas')) throw conflictingFlags(query);
  const cas = uintParam(query, 'cas', 'Invalid cas index');
  ctx.authz.require('key', key, 'write');
  ctx.core.leadership.requireForWrite();
  return { json: dc.kv.delete(key, { recurse, cas }) };
}

export const kv: Handler = (ctx, key) => {
  switch (ctx.req.method) {
    case 'GET':
      return kvGet(ctx, key);
    case 'PUT':
      return kvPut(ctx, key);
    default:
      return kvDelete(ctx, key);
  }
};
