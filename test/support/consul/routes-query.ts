// /v1/query (create, list) and /v1/query/:id (read, update, delete, execute).
// Execute answers from the query's datacenter and fails over only when it has no usable
// instance: NearestN datacenters by RTT, then Failover.Datacenters, each at most once.
import { parseConsistency } from './blocking';
import type { HealthEntry } from './catalog';
import type { Ctx, Handler } from './context';
import { ConsulError, jsonBody, type Reply } from './http';
import { queryJson, selectInstances } from './queries';

export const queryCollection: Handler = (ctx) => {
  const dc = ctx.core.dc(ctx.req.query.get('dc'));
  if (ctx.req.method === 'GET') {
    ctx.core.leadership.requireForRead(parseConsistency(ctx.req.query));
    return { json: dc.queries.list().map(queryJson) };
  }
  const body = jsonBody(ctx.req);
  ctx.core.leadership.requireForWrite();
  return { json: { ID: dc.queries.create(body) } };
};

export const queryItem: Handler = (ctx, rest) => {
  const dc = ctx.core.dc(ctx.req.query.get('dc'));
  if (rest.endsWith('/execute')) {
    if (ctx.req.method !== 'GET') throw new ConsulError(405, `method ${ctx.req.method} not allowed`, { Allow: 'OPTIONS,GET' });
    return execute(ctx, rest.slice(0, -'/execute'.length));
  }
  switch (ctx.req.method) {
    case 'GET':
      ctx.core.leadership.requireForRead(parseConsistency(ctx.req.query));
      return { json: [queryJson(dc.queries.get(rest))] };
    case 'PUT': {
      const body = jsonBody(ctx.req);
      ctx.core.leadership.requireForWrite();
      dc.queries.update(rest, body);
      return {};
    }
    default:
      ctx.core.leadership.requireForWrite();
      dc.queries.delete(rest);
      return {};
  }
};

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function execute(ctx: Ctx, idOrName: string): Reply {
  const { query } = ctx.req;
  const home = ctx.core.dc(query.get('dc'));
  const consistency = parseConsistency(query);
  const limitText = query.get('limit');
  if (limitText !== null && !/^[+-]?\d+$/.test(limitText)) {
    throw new ConsulError(500, `Bad limit: strconv.Atoi: parsing "${limitText}": invalid syntax`);
  }
  ctx.core.leadership.requireForRead(consistency);
  const q = home.queries.resolve(idOrName);
  const name = q.Service.Service;
  const run = (dcName: string) => {
    const dc = ctx.core.dc(dcName);
    return { dc: dcName, index: dc.catalog.serviceIndex(name), nodes: selectInstances(q, dc.catalog.healthEntries(name)) };
  };

  let answer = run(home.name);
  let failovers = 0;
  if (answer.nodes.length === 0) {
    const known = ctx.core.rankedDatacenters();
    const nearest = known.filter((d) => d !== home.name).slice(0, q.Service.Failover.NearestN);
    const targets = [...new Set([...nearest, ...q.Service.Failover.Datacenters])].filter((d) => d !== home.name && known.includes(d));
    for (const dc of targets) {
      failovers++;
      const remote = run(dc);
      if (remote.nodes.length > 0) {
        answer = remote;
        break;
      }
    }
  }

  let nodes: HealthEntry[] = answer.nodes;
  let filtered = false;
  if (nodes.length > 0 && !ctx.authz.can('service', name, 'read')) {
    nodes = [];
    filtered = true;
  }
  if (!query.get('near') && !q.Service.Near) shuffle(nodes);
  const limit = limitText === null ? 0 : Number(limitText);
  if (limit > 0) nodes = nodes.slice(0, limit);
  const index = Math.max(1, answer.index);
  return {
    json: {
      Service: name,
      Nodes: nodes,
      DNS: { TTL: q.DNS.TTL },
      Datacenter: answer.dc,
      PeerName: '',
      Failovers: failovers,
      Index: index,
      LastContact: 0,
      KnownLeader: ctx.core.leadership.hasLeader,
      ConsistencyLevel: consistency,
      NotModified: false,
      Backend: 0,
      ResultsFilteredByACLs: filtered,
    },
    headers: ctx.core.leadership.metaHeaders(index, consistency),
  };
}
