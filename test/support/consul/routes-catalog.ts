// Read endpoints over the catalog: /health/service, /catalog/services, /catalog/datacenters,
// /coordinate/datacenters, /status/leader.
import { block, parseBlocking, parseConsistency } from './blocking';
import type { HealthEntry } from './catalog';
import type { Ctx, Handler } from './context';
import { compileFilter } from './filter';
import { boolParam, ConsulError } from './http';

const FILTERED_BY_ACLS = { 'X-Consul-Results-Filtered-By-ACLs': 'true' };

function nodeMetaPairs(query: URLSearchParams): Array<[string, string]> {
  return query.getAll('node-meta').map((p) => {
    const i = p.indexOf(':');
    return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
  });
}

/** An entry passes when every check, node-level ones included, is exactly `passing`. */
export function allPassing(e: HealthEntry): boolean {
  return e.Checks.every((c) => c.Status === 'passing');
}

export const healthService: Handler = async (ctx, name) => {
  const { query } = ctx.req;
  const dc = ctx.core.dc(query.get('dc'));
  const consistency = parseConsistency(query);
  const params = parseBlocking(query, ctx.core.times);
  if (name === '') throw new ConsulError(400, 'Missing service name');
  const passing = boolParam(query, 'passing', 'Invalid value for ?passing');
  const filter = compileFilter(query.get('filter'));
  const tags = query.getAll('tag');
  const nodeMeta = nodeMetaPairs(query);
  ctx.core.leadership.requireForRead(consistency);

  const result = await block(dc.raft, params, () => ({ index: dc.catalog.serviceIndex(name) }), ctx.req.signal, ctx.core.tracker);
  if (!result) return undefined;

  // Tag, node-meta and filter run inside the RPC and ?passing after it; none of them
  // changes the index, so a blocked query wakes for instances it then filters out.
  let entries = dc.catalog
    .healthEntries(name)
    .filter((e) => tags.every((t) => e.Service.Tags.includes(t)))
    .filter((e) => nodeMeta.every(([k, v]) => e.Node.Meta[k] === v))
    .filter(filter);
  const headers = ctx.core.leadership.metaHeaders(result.index, consistency);
  if (entries.length > 0 && !ctx.authz.can('service', name, 'read')) {
    entries = [];
    if (!ctx.authz.anonymous) Object.assign(headers, FILTERED_BY_ACLS);
  }
  if (passing) entries = entries.filter(allPassing);
  return { json: entries, headers };
};

export const catalogServices: Handler = async (ctx) => {
  const { query } = ctx.req;
  const dc = ctx.core.dc(query.get('dc'));
  const consistency = parseConsistency(query);
  const params = parseBlocking(query, ctx.core.times);
  ctx.core.leadership.requireForRead(consistency);
  const result = await block(dc.raft, params, () => ({ index: dc.catalog.servicesIndex }), ctx.req.signal, ctx.core.tracker);
  if (!result) return undefined;
  const all = dc.catalog.serviceTags();
  const visible = Object.fromEntries(Object.entries(all).filter(([name]) => ctx.authz.can('service', name, 'read')));
  const headers = ctx.core.leadership.metaHeaders(result.index, consistency);
  if (Object.keys(visible).length < Object.keys(all).length && !ctx.authz.anonymous) Object.assign(headers, FILTERED_BY_ACLS);
  return { json: visible, headers };
};

/** Not blocking, no index header, and answered without a leader (catalog.mdx "List Datacenters"). */
export const catalogDatacenters: Handler = (ctx) => ({ json: ctx.core.rankedDatacenters() });

export const coordinateDatacenters: Handler = (ctx) => ({ json: ctx.core.coordinates });

/** The leader's RPC address, or "" without one. */
export const statusLeader: Handler = (ctx: Ctx) => ({ json: ctx.core.leadership.hasLeader ? '127.0.0.1:8300' : '' });
