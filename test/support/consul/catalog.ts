// The catalog of one datacenter: nodes, service instances and health checks, with the
// indexes Consul's state store keeps for blocking queries (agent/consul/state/catalog.go):
// - a per-service index, bumped by anything touching an instance of that service or its node;
// - a "service extinction" index, reported for services that have no instance;
// - the services-table index behind /catalog/services (health changes do not move it).
import { createHash } from 'node:crypto';
import { Raft } from './raft';

export type CheckStatus = 'passing' | 'warning' | 'critical';
export const CHECK_STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];

export interface Weights {
  Passing: number;
  Warning: number;
}

export interface NodeRecord {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ServiceRecord {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, unknown>;
  Meta: Record<string, string> | null;
  Port?: number;
  Weights: Weights;
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  PeerName: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CheckRecord {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** One element of /v1/health/service (and of a prepared query's `Nodes`). */
export interface HealthEntry {
  Node: NodeRecord;
  Service: ServiceRecord;
  Checks: CheckRecord[];
}

export interface NodeInput {
  node: string;
  /** Defaults to 127.0.0.1. */
  address?: string;
  nodeMeta?: Record<string, string>;
}

export interface ServiceInput {
  ID?: string;
  Service: string;
  Kind?: string;
  Tags?: string[];
  Address?: string;
  Port?: number;
  Meta?: Record<string, string> | null;
  Weights?: Weights;
  EnableTagOverride?: boolean;
  TaggedAddresses?: Record<string, unknown>;
}

/** A check as stored: everything but the node, service fields and indexes. */
export interface CheckInput {
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes?: string;
  Output?: string;
  Type?: string;
  Interval?: string;
  Timeout?: string;
  Definition?: Record<string, unknown>;
}

export interface InstanceInput extends NodeInput {
  service: ServiceInput & { ID: string };
  checks: CheckInput[];
}

const DEFAULT_WEIGHTS: Weights = { Passing: 1, Warning: 1 };

/** Stable UUID-shaped node ID derived from the name, so restarts and fixtures agree. */
export function nodeId(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

export class Catalog {
  private readonly nodes = new Map<string, NodeRecord>();
  /** node → service ID → instance */
  private readonly services = new Map<string, Map<string, ServiceRecord>>();
  /** node → check ID → check, in registration order */
  private readonly checks = new Map<string, Map<string, CheckRecord>>();
  private readonly serviceIndexes = new Map<string, number>();
  private servicesTableIndex = 0;
  private extinctionIndex = 0;

  constructor(
    readonly datacenter: string,
    private readonly raft: Raft,
  ) {
    raft.onRestore((index) => this.clampIndexes(index));
  }

  // ---- writes (each is one Raft transaction) ----

  /**
   * Registers or updates one instance with its node and its complete list of service checks
   * (checks of that service missing from the list are removed). Unchanged input writes nothing.
   */
  upsertInstance(input: InstanceInput): boolean {
    return this.raft.write((idx) => {
      let changed = this.ensureNode(input, idx);
      const svcs = this.services.get(input.node)!;
      const prev = svcs.get(input.service.ID);
      const next = this.buildService(input.service, prev, idx);
      if (!prev || !same({ ...prev, ModifyIndex: 0 }, { ...next, ModifyIndex: 0 })) {
        svcs.set(next.ID, next);
        this.servicesTableIndex = idx;
        changed = true;
      }
      const svc = svcs.get(input.service.ID)!;
      const nodeChecks = this.checks.get(input.node)!;
      const wanted = new Set(input.checks.map((c) => c.CheckID));
      for (const [id, c] of nodeChecks) {
        if (c.ServiceID === svc.ID && !wanted.has(id)) {
          nodeChecks.delete(id);
          changed = true;
        }
      }
      for (const c of input.checks) {
        changed = this.putCheck(input.node, c, svc, idx) || changed;
      }
      if (changed) this.serviceIndexes.set(svc.Service, idx);
      return changed;
    });
  }

  /** Removes an instance and its checks. Returns false when it did not exist. */
  removeInstance(node: string, serviceId: string): boolean {
    const svc = this.services.get(node)?.get(serviceId);
    if (!svc) return false;
    return this.raft.write((idx) => {
      this.services.get(node)!.delete(serviceId);
      const nodeChecks = this.checks.get(node)!;
      for (const [id, c] of nodeChecks) if (c.ServiceID === serviceId) nodeChecks.delete(id);
      this.servicesTableIndex = idx;
      if (this.instances(svc.Service).length === 0) {
        this.serviceIndexes.delete(svc.Service);
        this.extinctionIndex = idx;
      } else {
        this.serviceIndexes.set(svc.Service, idx);
      }
      return true;
    });
  }

  /** Updates a check's status/output. Same status and output is a no-op (no index bump). */
  updateCheck(node: string, checkId: string, status: CheckStatus, output?: string): boolean {
    const check = this.checks.get(node)?.get(checkId);
    if (!check) throw new Error(`unknown check ${checkId} on node ${node}`);
    return this.raft.write((idx) => {
      const out = output ?? check.Output;
      if (check.Status === status && check.Output === out) return false;
      check.Status = status;
      check.Output = out;
      check.ModifyIndex = idx;
      this.bumpServicesOf(node, check.ServiceID, idx);
      return true;
    });
  }

  /** Adds, replaces or (with `check` undefined) removes a node-level check such as serfHealth. */
  setNodeCheck(node: string, checkId: string, check: CheckInput | undefined): boolean {
    if (!this.nodes.has(node)) throw new Error(`unknown node ${node}`);
    return this.raft.write((idx) => {
      const nodeChecks = this.checks.get(node)!;
      if (!check) {
        if (!nodeChecks.delete(checkId)) return false;
        this.bumpServicesOf(node, '', idx);
        return true;
      }
      if (!this.putCheck(node, { ...check, CheckID: checkId }, undefined, idx)) return false;
      this.bumpServicesOf(node, '', idx);
      return true;
    });
  }

  /** A write that changes nothing visible but moves the service's index (a spurious wake-up). */
  touchService(service: string): void {
    this.raft.write((idx) => {
      this.serviceIndexes.set(service, idx);
      if (this.instances(service).length === 0) this.extinctionIndex = idx;
      return true;
    });
  }

  /**
   * Imports entries shaped like /v1/health/service output (e.g. a fixture), keeping their
   * indexes. The Raft index moves up to the highest imported index if it was lower.
   */
  importEntries(entries: readonly HealthEntry[]): void {
    let max = this.raft.index;
    for (const e of entries) {
      const node: NodeRecord = { ...clone(e.Node), Datacenter: this.datacenter };
      this.nodes.set(node.Node, node);
      if (!this.services.has(node.Node)) this.services.set(node.Node, new Map());
      if (!this.checks.has(node.Node)) this.checks.set(node.Node, new Map());
      const svc = this.buildService(e.Service, undefined, e.Service.ModifyIndex);
      svc.CreateIndex = e.Service.CreateIndex;
      this.services.get(node.Node)!.set(svc.ID, svc);
      const nodeChecks = this.checks.get(node.Node)!;
      for (const c of e.Checks) nodeChecks.set(c.CheckID, { ...clone(c), Node: node.Node });
      const entryMax = Math.max(node.ModifyIndex, svc.ModifyIndex, ...e.Checks.map((c) => c.ModifyIndex));
      this.serviceIndexes.set(svc.Service, Math.max(this.serviceIndexes.get(svc.Service) ?? 0, entryMax));
      this.servicesTableIndex = Math.max(this.servicesTableIndex, svc.ModifyIndex);
      max = Math.max(max, entryMax);
    }
    if (max > this.raft.index) this.raft.restore(max);
    else this.raft.notify();
  }

  // ---- reads ----

  hasNode(node: string): boolean {
    return this.nodes.has(node);
  }

  /** The per-service index (or the extinction index when it has no instance); may be 0. */
  serviceIndex(service: string): number {
    return this.serviceIndexes.get(service) ?? this.extinctionIndex;
  }

  get servicesIndex(): number {
    return this.servicesTableIndex;
  }

  /** Health entries for a service, deep copies in registration order. */
  healthEntries(service: string): HealthEntry[] {
    return this.instances(service).map(([node, svc]) => this.entry(node, svc));
  }

  /** Service name → deduplicated union of tags; always includes the servers' own `consul`. */
  serviceTags(): Record<string, string[]> {
    const out = new Map<string, Set<string>>([['consul', new Set()]]);
    for (const svcs of this.services.values()) {
      for (const s of svcs.values()) {
        const tags = out.get(s.Service) ?? new Set<string>();
        for (const t of s.Tags) tags.add(t);
        out.set(s.Service, tags);
      }
    }
    return Object.fromEntries([...out.keys()].sort().map((k) => [k, [...out.get(k)!]]));
  }

  /** Where a check lives. With `node` unset, the check ID must be unique in the datacenter. */
  findCheck(checkId: string, node?: string): CheckRecord | undefined {
    const found: CheckRecord[] = [];
    for (const [n, checks] of this.checks) {
      if (node !== undefined && n !== node) continue;
      const c = checks.get(checkId);
      if (c) found.push(c);
    }
    if (found.length > 1) throw new Error(`check ID ${checkId} exists on several nodes; pass the node`);
    return found[0];
  }

  /** Where a service instance lives. With `node` unset, the ID must be unique in the datacenter. */
  findInstance(serviceId: string, node?: string): { node: string; service: ServiceRecord } | undefined {
    const found: Array<{ node: string; service: ServiceRecord }> = [];
    for (const [n, svcs] of this.services) {
      if (node !== undefined && n !== node) continue;
      const s = svcs.get(serviceId);
      if (s) found.push({ node: n, service: s });
    }
    if (found.length > 1) throw new Error(`service ID ${serviceId} exists on several nodes; pass the node`);
    return found[0];
  }

  // ---- internals ----

  private instances(service: string): Array<[string, ServiceRecord]> {
    const out: Array<[string, ServiceRecord]> = [];
    for (const [node, svcs] of this.services) {
      for (const s of svcs.values()) if (s.Service === service) out.push([node, s]);
    }
    return out;
  }

  private entry(node: string, svc: ServiceRecord): HealthEntry {
    const checks = [...this.checks.get(node)!.values()].filter((c) => c.ServiceID === '' || c.ServiceID === svc.ID);
    return { Node: clone(this.nodes.get(node)!), Service: clone(svc), Checks: clone(checks) };
  }

  private ensureNode(input: NodeInput, idx: number): boolean {
    const address = input.address ?? '127.0.0.1';
    const meta = { 'consul-network-segment': '', ...(input.nodeMeta ?? {}) };
    const prev = this.nodes.get(input.node);
    if (prev && prev.Address === address && (input.nodeMeta === undefined || same(prev.Meta, meta))) return false;
    const node: NodeRecord = {
      ID: prev?.ID ?? nodeId(input.node),
      Node: input.node,
      Address: address,
      Datacenter: this.datacenter,
      TaggedAddresses: { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address },
      Meta: input.nodeMeta === undefined && prev ? prev.Meta : meta,
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    this.nodes.set(node.Node, node);
    if (!prev) {
      this.services.set(node.Node, new Map());
      // Every agent-backed node carries the Serf health check (agent/consul/leader.go).
      this.checks.set(
        node.Node,
        new Map([
          [
            'serfHealth',
            this.checkRecord(
              node.Node,
              { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Output: 'Agent alive and reachable' },
              undefined,
              idx,
            ),
          ],
        ]),
      );
    } else {
      this.bumpServicesOf(node.Node, '', idx);
    }
    return true;
  }

  private buildService(input: ServiceInput, prev: ServiceRecord | undefined, idx: number): ServiceRecord {
    return {
      ...(input.Kind ? { Kind: input.Kind } : {}),
      ID: input.ID ?? input.Service,
      Service: input.Service,
      Tags: [...(input.Tags ?? [])],
      Address: input.Address ?? '',
      ...(input.TaggedAddresses && Object.keys(input.TaggedAddresses).length ? { TaggedAddresses: clone(input.TaggedAddresses) } : {}),
      Meta: input.Meta ? { ...input.Meta } : null,
      ...(input.Port ? { Port: input.Port } : {}),
      Weights: input.Weights ? { ...input.Weights } : { ...DEFAULT_WEIGHTS },
      EnableTagOverride: input.EnableTagOverride ?? false,
      Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
      Connect: {},
      PeerName: '',
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
  }

  private checkRecord(node: string, c: CheckInput, svc: ServiceRecord | undefined, idx: number): CheckRecord {
    return {
      Node: node,
      CheckID: c.CheckID,
      Name: c.Name,
      Status: c.Status,
      Notes: c.Notes ?? '',
      Output: c.Output ?? '',
      ServiceID: svc?.ID ?? '',
      ServiceName: svc?.Service ?? '',
      ServiceTags: svc ? [...svc.Tags] : [],
      Type: c.Type ?? '',
      Interval: c.Interval ?? '',
      Timeout: c.Timeout ?? '',
      ExposedPort: 0,
      Definition: c.Definition ? clone(c.Definition) : {},
      CreateIndex: idx,
      ModifyIndex: idx,
    };
  }

  private putCheck(node: string, c: CheckInput, svc: ServiceRecord | undefined, idx: number): boolean {
    const nodeChecks = this.checks.get(node)!;
    const prev = nodeChecks.get(c.CheckID);
    const next = this.checkRecord(node, c, svc, idx);
    if (prev) {
      next.CreateIndex = prev.CreateIndex;
      if (same({ ...prev, ModifyIndex: 0 }, { ...next, ModifyIndex: 0 })) return false;
    }
    nodeChecks.set(c.CheckID, next);
    return true;
  }

  /** A check or node change moves the index of every service it touches. */
  private bumpServicesOf(node: string, serviceId: string, idx: number): void {
    for (const s of this.services.get(node)?.values() ?? []) {
      if (serviceId === '' || s.ID === serviceId) this.serviceIndexes.set(s.Service, idx);
    }
  }

  private clampIndexes(max: number): void {
    const clampRec = (r: { CreateIndex: number; ModifyIndex: number }) => {
      r.CreateIndex = Math.min(r.CreateIndex, max);
      r.ModifyIndex = Math.min(r.ModifyIndex, max);
    };
    for (const n of this.nodes.values()) clampRec(n);
    for (const svcs of this.services.values()) for (const s of svcs.values()) clampRec(s);
    for (const checks of this.checks.values()) for (const c of checks.values()) clampRec(c);
    for (const [k, v] of this.serviceIndexes) this.serviceIndexes.set(k, Math.min(v, max));
    this.servicesTableIndex = Math.min(this.servicesTableIndex, max);
    this.extinctionIndex = Math.min(this.extinctionIndex, max);
  }
}
