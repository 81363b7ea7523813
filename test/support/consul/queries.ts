// Prepared queries of one datacenter (website/content/api-docs/query.mdx,
// agent/consul/prepared_query_endpoint.go): stored definitions, lookup by ID, name or
// `name_prefix_match` template, and the per-datacenter selection that execute runs.
import { randomUUID } from 'node:crypto';
import type { HealthEntry } from './catalog';
import { ConsulError } from './http';
import type { Raft } from './raft';

export interface QueryDefinition {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: { Type: string; Regexp: string; RemoveEmptyTags: boolean };
  Service: {
    Service: string;
    Failover: { NearestN: number; Datacenters: string[] };
    IgnoreCheckIDs: string[] | null;
    OnlyPassing: boolean;
    Near: string;
    Tags: string[] | null;
    NodeMeta: Record<string, string> | null;
    ServiceMeta: Record<string, string> | null;
    Connect: { Enabled: boolean };
  };
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function strings(v: unknown): string[] | null {
  return Array.isArray(v) ? v.map(String) : null;
}

function stringMap(v: unknown): Record<string, string> | null {
  return v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : null;
}

/** Builds a stored definition from a create/update body; 400 on what Consul's validation rejects. */
export function decodeQuery(body: unknown, id: string, index: number): QueryDefinition {
  const b = obj(body);
  const svc = obj(b.Service);
  const failover = obj(svc.Failover);
  const tmpl = obj(b.Template);
  if (typeof svc.Service !== 'string' || svc.Service === '') throw new ConsulError(400, 'Must provide a Service name to query');
  const nearestN = typeof failover.NearestN === 'number' ? failover.NearestN : 0;
  if (nearestN < 0) throw new ConsulError(400, `Bad NearestN '${nearestN}', must be >= 0`);
  if (tmpl.Type !== undefined && tmpl.Type !== '' && tmpl.Type !== 'name_prefix_match') {
    throw new ConsulError(400, `Bad Template.Type '${String(tmpl.Type)}'`);
  }
  return {
    ID: id,
    Name: typeof b.Name === 'string' ? b.Name : '',
    Session: typeof b.Session === 'string' ? b.Session : '',
    Token: typeof b.Token === 'string' ? b.Token : '',
    Template: { Type: String(tmpl.Type ?? ''), Regexp: String(tmpl.Regexp ?? ''), RemoveEmptyTags: tmpl.RemoveEmptyTags === true },
    Service: {
      Service: svc.Service,
      Failover: { NearestN: nearestN, Datacenters: strings(failover.Datacenters) ?? [] },
      IgnoreCheckIDs: strings(svc.IgnoreCheckIDs),
      OnlyPassing: svc.OnlyPassing === true,
      Near: typeof svc.Near === 'string' ? svc.Near : '',
      Tags: strings(svc.Tags),
      NodeMeta: stringMap(svc.NodeMeta),
      ServiceMeta: stringMap(svc.ServiceMeta),
      Connect: { Enabled: obj(svc.Connect).Enabled === true },
    },
    DNS: { TTL: typeof obj(b.DNS).TTL === 'string' ? (obj(b.DNS).TTL as string) : '' },
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** A definition as the API shows it: the token is never echoed. */
export function queryJson(q: QueryDefinition): QueryDefinition {
  return { ...structuredClone(q), Token: q.Token ? '<hidden>' : '' };
}

/**
 * `Service` and `Tags` with a template's `${name.full|prefix|suffix}` and `${match(N)}`
 * filled in for the name the caller executed.
 */
function render(q: QueryDefinition, name: string): QueryDefinition {
  if (q.Template.Type !== 'name_prefix_match') return q;
  const groups = q.Template.Regexp ? (new RegExp(q.Template.Regexp).exec(name) ?? []) : [];
  const fill = (s: string) =>
    s
      .replaceAll('${name.full}', name)
      .replaceAll('${name.prefix}', q.Name)
      .replaceAll('${name.suffix}', name.slice(q.Name.length))
      .replace(/\$\{match\((\d+)\)\}/g, (_, n: string) => groups[Number(n)] ?? '');
  let tags = q.Service.Tags?.map(fill) ?? null;
  if (tags && q.Template.RemoveEmptyTags) tags = tags.filter((t) => t !== '');
  return { ...q, Service: { ...q.Service, Service: fill(q.Service.Service), Tags: tags } };
}

/**
 * Instances a query selects in one datacenter (structs.CheckServiceNodes.FilterIgnore):
 * any critical check (not ignored) drops an instance; with OnlyPassing any non-passing
 * check does. So warning instances stay by default.
 */
export function selectInstances(q: QueryDefinition, entries: HealthEntry[]): HealthEntry[] {
  const s = q.Service;
  const ignore = new Set(s.IgnoreCheckIDs ?? []);
  return entries.filter((e) => {
    for (const tag of s.Tags ?? []) {
      const has = (t: string) => e.Service.Tags.some((x) => x.toLowerCase() === t.toLowerCase());
      if (tag.startsWith('!') ? has(tag.slice(1)) : !has(tag)) return false;
    }
    for (const [k, v] of Object.entries(s.NodeMeta ?? {})) if (e.Node.Meta[k] !== v) return false;
    for (const [k, v] of Object.entries(s.ServiceMeta ?? {})) if (e.Service.Meta?.[k] !== v) return false;
    return e.Checks.every(
      (c) => ignore.has(c.CheckID) || (s.OnlyPassing ? c.Status === 'passing' : c.Status !== 'critical'),
    );
  });
}

export class PreparedQueries {
  private readonly byId = new Map<string, QueryDefinition>();

  constructor(private readonly raft: Raft) {}

  create(body: unknown): string {
    const id = randomUUID();
    this.raft.write((idx) => {
      const q = decodeQuery(body, id, idx);
      this.checkName(q);
      this.byId.set(id, q);
      return true;
    });
    return id;
  }

  update(id: string, body: unknown): void {
    const prev = this.get(id);
    this.raft.write((idx) => {
      const q = { ...decodeQuery(body, id, idx), CreateIndex: prev.CreateIndex };
      this.checkName(q);
      this.byId.set(id, q);
      return true;
    });
  }

  delete(id: string): void {
    this.get(id);
    this.raft.write(() => this.byId.delete(id));
  }

  list(): QueryDefinition[] {
    return [...this.byId.values()];
  }

  get(id: string): QueryDefinition {
    const q = this.byId.get(id);
    if (!q) throw new ConsulError(404, 'Query not found');
    return q;
  }

  /** By ID, then exact name, then the template with the longest matching name prefix; rendered. */
  resolve(idOrName: string): QueryDefinition {
    const all = this.list();
    const exact = this.byId.get(idOrName) ?? all.find((q) => q.Name !== '' && q.Name === idOrName && q.Template.Type === '');
    if (exact) return exact;
    const template = all
      .filter((q) => q.Template.Type === 'name_prefix_match' && idOrName.startsWith(q.Name))
      .sort((a, b) => b.Name.length - a.Name.length)[0];
    if (!template) throw new ConsulError(404, 'Query not found');
    return render(template, idOrName);
  }

  private checkName(q: QueryDefinition): void {
    const clash = q.Name && this.list().find((o) => o.ID !== q.ID && o.Name === q.Name);
    if (clash) throw new ConsulError(500, `Name "${q.Name}" aliases an existing query name`);
  }
}
