// /v1/agent/*: service register/deregister/maintenance, TTL check updates, and the
// agent's local views. Writes answer 200 with an empty body.
import { decodeRegistration } from './agent-definition';
import { unknownCheck, unknownService } from './agent';
import { CHECK_STATUSES, type CheckStatus } from './catalog';
import type { Handler } from './context';
import { boolParam, ConsulError, jsonBody } from './http';

export const agentRegister: Handler = (ctx) => {
  const { service, checks } = decodeRegistration(jsonBody(ctx.req));
  ctx.authz.require('service', service.Name, 'write');
  const replace = boolParam(ctx.req.query, 'replace-existing-checks', 'Invalid value for ?replace-existing-checks') ?? false;
  ctx.core.agent.register(service, checks, replace);
  return {};
};

export const agentDeregister: Handler = (ctx, id) => {
  const svc = ctx.core.agent.serviceDef(id);
  if (!svc) throw unknownService(id);
  ctx.authz.require('service', svc.Name, 'write');
  ctx.core.agent.deregister(id);
  return {};
};

export const agentMaintenance: Handler = (ctx, id) => {
  const { query } = ctx.req;
  if (!query.has('enable')) throw new ConsulError(400, 'Missing value for enable');
  const enable = boolParam(query, 'enable', 'Invalid value for enable')!;
  const svc = ctx.core.agent.serviceDef(id);
  if (!svc) throw unknownService(id);
  ctx.authz.require('service', svc.Name, 'write');
  ctx.core.agent.maintenance(id, enable, query.get('reason') ?? '');
  return {};
};

const TTL_STATUS: Record<string, CheckStatus> = { pass: 'passing', warn: 'warning', fail: 'critical' };

/** PUT /v1/agent/check/{pass,warn,fail,update}/:check_id */
export const agentCheckUpdate: Handler = (ctx, rest) => {
  const slash = rest.indexOf('/');
  const verb = rest.slice(0, slash);
  const id = rest.slice(slash + 1);
  let status: CheckStatus;
  let output: string;
  if (verb === 'update') {
    const body = (jsonBody(ctx.req) ?? {}) as { Status?: unknown; Output?: unknown };
    if (!CHECK_STATUSES.includes(body.Status as CheckStatus)) throw new ConsulError(400, `Invalid check status: '${String(body.Status ?? '')}'`);
    status = body.Status as CheckStatus;
    output = typeof body.Output === 'string' ? body.Output : '';
  } else if (slash > 0 && TTL_STATUS[verb]) {
    status = TTL_STATUS[verb];
    output = ctx.req.query.get('note') ?? '';
  } else {
    throw new ConsulError(404, 'Invalid URL path: not a recognized HTTP API endpoint');
  }
  const svc = ctx.core.agent.checkService(id);
  if (!svc) throw unknownCheck(id);
  ctx.authz.require('service', svc.Name, 'write');
  ctx.core.agent.updateTtl(id, status, output);
  return {};
};

export const agentServices: Handler = (ctx) => ({ json: ctx.core.agent.servicesJson() });

export const agentChecks: Handler = (ctx) => ({ json: ctx.core.agent.checksJson() });

/** The parts of GET /v1/agent/self clients read to learn where they are. */
export const agentSelf: Handler = (ctx) => ({
  json: {
    Config: { Datacenter: ctx.core.localDc, NodeName: ctx.core.agent.node, Server: true, Version: '1.21.4' },
    Member: { Name: ctx.core.agent.node, Addr: '127.0.0.1', Status: 1 },
  },
});
