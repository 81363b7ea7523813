/**
 * A Consul-compatible HTTP server for tests: the subset of the Consul HTTP API that
 * shared/consul/API-SUBSET.md (beside the repository) describes, with the behaviours of CONFORMANCE.md
 * (blocking queries, per-service indexes, ?passing, filters, ACL filtering, no-leader mode,
 * error bodies). Real clients (the npm `consul` package, the proxy's discovery source, the
 * simulator's self-registration) talk to it over HTTP on 127.0.0.1.
 *
 *   const consul = await ConsulTestServer.start({ datacenter: 'dc1', datacenters: ['dc1', 'dc2'] });
 *   t.teardown(() => consul.close());
 *   consul.url                                    // 'http://127.0.0.1:PORT' (no /v1)
 *
 * Catalog control (synchronous; each call is one Raft write that wakes blocked queries):
 *   consul.registerService({ node, address?, nodeMeta?, datacenter?,
 *                            service: { ID?, Service, Tags?, Address?, Port?, Meta?, Weights? },
 *                            checks?: [{ CheckID?, Name?, Status?, Output?, Notes? }] })  → service ID
 *       New nodes get a passing `serfHealth` check. Checks default to `service:<ID>`
 *       (`service:<ID>:<n>` when several) with status `passing` (unlike agent registration,
 *       where new checks start critical). Re-registering the same node+ID replaces it.
 *   consul.deregisterService(id, { datacenter?, node? })
 *   consul.setCheckStatus(checkId, 'passing'|'warning'|'critical', output?, { datacenter?, node? })
 *       Same status and output is a no-op (no index bump), as in Consul.
 *   consul.setNodeHealth(node, status, output?, { datacenter? })   // the node's serfHealth
 *   consul.setServiceMaintenance(id, enable, reason?, { datacenter?, node? })
 *   consul.touchService(name, { datacenter? })      // spurious wake-up: index+1, same body (C09)
 *   consul.loadHealth(entries, { datacenter? })     // import /health/service-shaped JSON (fixtures), indexes kept
 *   consul.loadKv(entries, { datacenter? })         // import /kv-shaped JSON, indexes kept
 *
 * The agent (/v1/agent/service/register, deregister, maintenance, check/pass|warn|fail|update,
 * /v1/agent/services|checks|self) registers on its own node (`consul-agent`, 127.0.0.1) in the
 * local datacenter. New checks start critical unless `Status` is given. TTL checks expire to
 * critical `TTL expired`; HTTP and TCP checks run against their target at registration, then
 * every Interval (≥ 1 s), honouring SuccessBeforePassing/FailuresBeforeWarning/Critical.
 * Output-only changes reach the catalog after checkUpdateIntervalMs (5 m), status changes at once.
 * gRPC, script, alias, H2PING, UDP and OS-service checks are accepted but never run.
 *   consul.advanceClock(ms)                          // with { clock: 'manual' }: fire agent timers in order
 *   consul.expireTtl(checkId)                        // a TTL check runs out now
 *   consul.agent                                     // the Agent (agent.ts) for finer control
 *   setCheckStatus(), setServiceMaintenance() and deregisterService() on agent-registered services
 *   go through the agent, so its next sync keeps them (a TTL clock is left running).
 *
 * Prepared queries (/v1/query, /v1/query/:id[/execute]) are per datacenter; execute fails
 * over by NearestN (RTT order) then Failover.Datacenters when the query's DC has no instance.
 * Fixtures: consulFixture('health-service.json') from './fixtures' reads the vendored copies of shared/consul/fixtures (test/fixtures/consul).
 *
 * Indexes and cluster state:
 *   consul.index(dc?) / consul.serviceIndex(name, dc?)   // what X-Consul-Index would say
 *   consul.resetIndex(n, dc?)                        // "snapshot restore": indexes above n drop to n
 *   consul.moveIndexBackwards(dc?)                   // resetIndex(half the current index)
 *   consul.reapTombstones(dc?)                       // KV recurse indexes may then go backwards
 *   consul.setLeader(false|true)                     // no leader: 500 `No cluster leader` except ?stale reads;
 *                                                    // agent writes still succeed and reach the catalog when the leader is back
 *
 * Faults and transport:
 *   consul.failNext(n, { status = 500, body = 'injected failure', path? })   // next n requests (matching path prefix)
 *   consul.setDelay(ms, path?)                       // delay answers (0 to stop)
 *   await consul.stop()                              // close listener and connections: connections are refused
 *   await consul.restart()                           // listen again on the SAME port, state kept
 *   await consul.close()                             // stop for good, cancel every timer
 *
 * Observation (await events instead of sleeping):
 *   consul.requests                                  // [{ method, path (decoded), query: URLSearchParams, time }]
 *   consul.countRequests(pathPrefix, method?)
 *   await consul.waitForRequest(pred, timeoutMs?)    // resolves with the first matching (past or future) request
 *   consul.blockedQueries                            // requests parked in a blocking wait right now
 *   await consul.waitForBlocked(n = 1, timeoutMs?)   // until at least n are parked
 *   await consul.waitForProbes(checkId, n)           // until an agent HTTP/TCP check has run n times
 *
 * Options: datacenter ('dc1'), datacenters (names; the local one is added), coordinates
 * (/coordinate/datacenters shape, e.g. fixtures/coordinate-datacenters.json; default: 10 ms
 * apart in list order), acl (see acl.ts; unset = ACLs disabled), initialIndex (10),
 * defaultQueryTimeMs (300 000), maxQueryTimeMs (600 000), port (0), agentNode, clock
 * ('real' | 'manual'), checkUpdateIntervalMs (300 000), minDeregisterAfterMs (60 000).
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Acl, type AclConfig } from './acl';
import { Agent } from './agent';
import type { BlockTracker, QueryTimes } from './blocking';
import { type Clock, ManualClock, RealClock } from './clock';
import { type CheckInput, type CheckStatus, type HealthEntry, type ServiceInput } from './catalog';
import type { Ctx, ServerCore } from './context';
import { type DatacenterCoordinates, rankDatacenters, synthesizeCoordinates } from './coordinates';
import { Datacenter } from './datacenter';
import { ConsulError, errorReply, parseRequest, readBody, type Reply, writeReply } from './http';
import type { KvJson } from './kv';
import { Leadership } from './leadership';
import { findRoute, type Route } from './router';
import { catalogDatacenters, catalogServices, coordinateDatacenters, healthService, statusLeader } from './routes-catalog';
import { agentChecks, agentCheckUpdate, agentDeregister, agentMaintenance, agentRegister, agentSelf, agentServices } from './routes-agent';
import { kv } from './routes-kv';
import { queryCollection, queryItem } from './routes-query';

export interface ConsulTestServerOptions {
  datacenter?: string;
  datacenters?: string[];
  coordinates?: DatacenterCoordinates[];
  acl?: AclConfig;
  initialIndex?: number;
  defaultQueryTimeMs?: number;
  maxQueryTimeMs?: number;
  port?: number;
  /** The agent's own node, where /v1/agent registrations land. Default `consul-agent` at 127.0.0.1. */
  agentNode?: { name: string; address?: string };
  /** 'manual': agent timers (TTL, check intervals, deferred sync, reaping) move only with advanceClock(). */
  clock?: 'real' | 'manual';
  /** Deferral of output-only check changes (Consul's check_update_interval, 5 m). */
  checkUpdateIntervalMs?: number;
  /** Floor of DeregisterCriticalServiceAfter (Consul: 1 m). */
  minDeregisterAfterMs?: number;
}

export interface ServiceRegistration {
  node: string;
  address?: string;
  nodeMeta?: Record<string, string>;
  datacenter?: string;
  service: ServiceInput;
  checks?: Array<Partial<CheckInput>>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  time: number;
}

interface Where {
  datacenter?: string;
  node?: string;
}

interface FailRule {
  remaining: number;
  status: number;
  body: string;
  path?: string;
}

const MAX_BODY = 8 * 1024 * 1024;

export class ConsulTestServer implements ServerCore {
  readonly localDc: string;
  readonly coordinates: DatacenterCoordinates[];
  readonly leadership = new Leadership();
  readonly times: QueryTimes;
  readonly tracker: BlockTracker;
  readonly requests: LoggedRequest[] = [];
  readonly agent: Agent;
  /** A ManualClock when started with `clock: 'manual'`. */
  readonly clock: Clock;
  private readonly dcs = new Map<string, Datacenter>();
  private readonly acl: Acl;
  private readonly routes: Route[];
  private readonly events = new EventEmitter();
  private readonly server: http.Server;
  private port = 0;
  private blocked = 0;
  private delay: { ms: number; path?: string } = { ms: 0 };
  private failRules: FailRule[] = [];
  private closed = false;

  private constructor(opts: ConsulTestServerOptions) {
    this.localDc = opts.datacenter ?? 'dc1';
    const names = [...new Set([this.localDc, ...(opts.datacenters ?? [])])];
    for (const name of names) this.dcs.set(name, new Datacenter(name, opts.initialIndex ?? 10));
    this.coordinates = opts.coordinates ?? synthesizeCoordinates(names);
    this.acl = new Acl(opts.acl);
    this.clock = opts.clock === 'manual' ? new ManualClock() : new RealClock();
    this.agent = new Agent({
      node: opts.agentNode?.name ?? 'consul-agent',
      address: opts.agentNode?.address ?? '127.0.0.1',
      datacenter: this.dc(this.localDc),
      leadership: this.leadership,
      clock: this.clock,
      checkUpdateIntervalMs: opts.checkUpdateIntervalMs ?? 300_000,
      minDeregisterAfterMs: opts.minDeregisterAfterMs ?? 60_000,
      onProbe: () => this.events.emit('probe'),
    });
    this.times = { defaultQueryTimeMs: opts.defaultQueryTimeMs ?? 300_000, maxQueryTimeMs: opts.maxQueryTimeMs ?? 600_000 };
    this.tracker = {
      enter: () => {
        this.blocked++;
        this.events.emit('blocked');
      },
      leave: () => {
        this.blocked--;
      },
    };
    this.routes = [
      { path: '/v1/health/service/', prefix: true, methods: ['GET'], handle: healthService },
      { path: '/v1/catalog/services', methods: ['GET'], handle: catalogServices },
      { path: '/v1/catalog/datacenters', methods: ['GET'], handle: catalogDatacenters },
      { path: '/v1/coordinate/datacenters', methods: ['GET'], handle: coordinateDatacenters },
      { path: '/v1/kv/', prefix: true, methods: ['GET', 'PUT', 'DELETE'], handle: kv },
      { path: '/v1/status/leader', methods: ['GET'], handle: statusLeader },
      { path: '/v1/agent/service/register', methods: ['PUT'], handle: agentRegister },
      { path: '/v1/agent/service/deregister/', prefix: true, methods: ['PUT'], handle: agentDeregister },
      { path: '/v1/agent/service/maintenance/', prefix: true, methods: ['PUT'], handle: agentMaintenance },
      { path: '/v1/agent/check/', prefix: true, methods: ['PUT'], handle: agentCheckUpdate },
      { path: '/v1/agent/services', methods: ['GET'], handle: agentServices },
      { path: '/v1/agent/checks', methods: ['GET'], handle: agentChecks },
      { path: '/v1/agent/self', methods: ['GET'], handle: agentSelf },
      { path: '/v1/query', methods: ['GET', 'POST'], handle: queryCollection },
      { path: '/v1/query/', prefix: true, methods: ['GET', 'PUT', 'DELETE'], handle: queryItem },
    ];
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.server.keepAliveTimeout = 65_000;
    this.port = opts.port ?? 0;
  }

  static async start(opts: ConsulTestServerOptions = {}): Promise<ConsulTestServer> {
    const s = new ConsulTestServer(opts);
    await s.listen();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  // ---- ServerCore ----

  dc(name: string | null | undefined): Datacenter {
    const dc = this.dcs.get(name || this.localDc);
    if (!dc) throw new ConsulError(500, 'No path to datacenter');
    return dc;
  }

  rankedDatacenters(): string[] {
    return rankDatacenters(this.coordinates, this.localDc, [...this.dcs.keys()]);
  }

  // ---- catalog control ----

  registerService(reg: ServiceRegistration): string {
    const dc = this.dc(reg.datacenter);
    const id = reg.service.ID ?? reg.service.Service;
    const checks = reg.checks ?? [];
    const existing = dc.catalog.hasNode(reg.node)
      ? dc.catalog.healthEntries(reg.service.Service).find((e) => e.Node.Node === reg.node && e.Service.ID === id)
      : undefined;
    const maintenance = existing?.Checks.filter((c) => c.CheckID === `_service_maintenance:${id}`) ?? [];
    dc.catalog.upsertInstance({
      node: reg.node,
      address: reg.address,
      nodeMeta: reg.nodeMeta,
      service: { ...reg.service, ID: id },
      checks: [
        ...checks.map((c, i) => ({
          CheckID: c.CheckID ?? (checks.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`),
          Name: c.Name ?? `Service '${reg.service.Service}' check`,
          Status: c.Status ?? 'passing',
          Notes: c.Notes,
          Output: c.Output,
          Type: c.Type,
        })),
        ...maintenance,
      ],
    });
    return id;
  }

  deregisterService(id: string, where: Where = {}): void {
    if (this.agentOwns(id, where)) {
      this.agent.deregister(id);
      return;
    }
    const dc = this.dc(where.datacenter);
    const found = dc.catalog.findInstance(id, where.node);
    if (!found) throw new Error(`unknown service instance ${id}`);
    dc.catalog.removeInstance(found.node, id);
  }

  setCheckStatus(checkId: string, status: CheckStatus, output?: string, where: Where = {}): void {
    if (this.agentOwns(undefined, where) && this.agent.forceStatus(checkId, status, output)) return;
    const dc = this.dc(where.datacenter);
    const check = dc.catalog.findCheck(checkId, where.node);
    if (!check) throw new Error(`unknown check ${checkId}`);
    dc.catalog.updateCheck(check.Node, checkId, status, output);
  }

  setNodeHealth(node: string, status: CheckStatus, output?: string, where: { datacenter?: string } = {}): void {
    this.setCheckStatus('serfHealth', status, output, { ...where, node });
  }

  setServiceMaintenance(id: string, enable: boolean, reason = '', where: Where = {}): void {
    if (this.agentOwns(id, where)) {
      this.agent.maintenance(id, enable, reason);
      return;
    }
    const dc = this.dc(where.datacenter);
    const found = dc.catalog.findInstance(id, where.node);
    if (!found) throw new Error(`unknown service instance ${id}`);
    const entry = dc.catalog.healthEntries(found.service.Service).find((e) => e.Node.Node === found.node && e.Service.ID === id)!;
    const checkId = `_service_maintenance:${id}`;
    const serviceChecks = entry.Checks.filter((c) => c.ServiceID === id && c.CheckID !== checkId);
    const maintenance: CheckInput = {
      CheckID: checkId,
      Name: 'Service Maintenance Mode',
      Status: 'critical',
      Notes: reason || 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.',
    };
    dc.catalog.upsertInstance({
      node: found.node,
      service: found.service,
      checks: [...serviceChecks, ...(enable ? [maintenance] : [])],
    });
  }

  /**
   * Whether `where` designates the agent's node (services registered through /v1/agent stay
   * under the agent's control, or its next sync would undo the change).
   */
  private agentOwns(serviceId: string | undefined, where: Where): boolean {
    const local = !where.datacenter || where.datacenter === this.localDc;
    const node = !where.node || where.node === this.agent.node;
    return local && node && (serviceId === undefined || this.agent.serviceDef(serviceId) !== undefined);
  }

  touchService(name: string, where: { datacenter?: string } = {}): void {
    this.dc(where.datacenter).catalog.touchService(name);
  }

  loadHealth(entries: readonly HealthEntry[], where: { datacenter?: string } = {}): void {
    this.dc(where.datacenter).catalog.importEntries(entries);
  }

  loadKv(entries: readonly KvJson[], where: { datacenter?: string } = {}): void {
    this.dc(where.datacenter).kv.importEntries(entries);
  }

  // ---- indexes and cluster state ----

  index(dc?: string): number {
    return this.dc(dc).raft.index;
  }

  serviceIndex(name: string, dc?: string): number {
    return Math.max(1, this.dc(dc).catalog.serviceIndex(name));
  }

  resetIndex(n: number, dc?: string): void {
    this.dc(dc).raft.restore(n);
  }

  moveIndexBackwards(dc?: string): void {
    const raft = this.dc(dc).raft;
    raft.restore(Math.floor(raft.index / 2));
  }

  reapTombstones(dc?: string): void {
    this.dc(dc).kv.reapTombstones();
  }

  setLeader(hasLeader: boolean): void {
    this.leadership.set(hasLeader);
    if (hasLeader) this.agent.syncPending();
  }

  advanceClock(ms: number): void {
    if (!(this.clock instanceof ManualClock)) throw new Error("advanceClock needs ConsulTestServer.start({ clock: 'manual' })");
    this.clock.advance(ms);
  }

  expireTtl(checkId: string): void {
    this.agent.expireTtl(checkId);
  }

  // ---- faults and transport ----

  failNext(n: number, opts: { status?: number; body?: string; path?: string } = {}): void {
    this.failRules.push({ remaining: n, status: opts.status ?? 500, body: opts.body ?? 'injected failure', path: opts.path });
  }

  setDelay(ms: number, path?: string): void {
    this.delay = { ms, path };
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  async restart(): Promise<void> {
    if (this.closed) throw new Error('ConsulTestServer is closed');
    if (!this.server.listening) await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agent.close();
    await this.stop();
  }

  // ---- observation ----

  countRequests(pathPrefix: string, method?: string): number {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix) && (!method || r.method === method)).length;
  }

  get blockedQueries(): number {
    return this.blocked;
  }

  waitForRequest(pred: (r: LoggedRequest) => boolean, timeoutMs = 10_000): Promise<LoggedRequest> {
    const seen = this.requests.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.waitFor('request', () => this.requests.find(pred), timeoutMs, 'a matching request');
  }

  /** Resolves once the agent check has completed at least n HTTP/TCP probes. */
  waitForProbes(checkId: string, n: number, timeoutMs = 10_000): Promise<number> {
    const probe = () => (this.agent.probeCount(checkId) >= n ? this.agent.probeCount(checkId) : undefined);
    return this.waitFor('probe', probe, timeoutMs, `${n} probes of ${checkId}`);
  }

  waitForBlocked(n = 1, timeoutMs = 10_000): Promise<number> {
    return this.waitFor('blocked', () => (this.blocked >= n ? this.blocked : undefined), timeoutMs, `${n} blocked queries`);
  }

  // ---- HTTP ----

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private waitFor<T>(event: string, probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v === undefined) return;
        cleanup();
        resolve(v);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off(event, check);
      };
      this.events.on(event, check);
      check();
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const base = { 'X-Consul-Default-Acl-Policy': this.acl.defaultPolicy };
    let pretty = false;
    let reply: Reply | undefined;
    try {
      const body = await readBody(req, MAX_BODY);
      const request = parseRequest(req, body, abort.signal);
      pretty = request.query.has('pretty');
      this.requests.push({ method: request.method, path: request.path, query: request.query, time: Date.now() });
      this.events.emit('request');
      if (this.delay.ms > 0 && request.path.startsWith(this.delay.path ?? '')) {
        await new Promise((r) => setTimeout(r, this.delay.ms));
      }
      const rule = this.failRules.find((r) => r.remaining > 0 && request.path.startsWith(r.path ?? ''));
      if (rule) {
        rule.remaining--;
        this.failRules = this.failRules.filter((r) => r.remaining > 0);
        throw new ConsulError(rule.status, rule.body);
      }
      const { route, rest } = findRoute(this.routes, request.method, request.path);
      const ctx: Ctx = { req: request, authz: this.acl.authorize(request.query, request.headers), core: this };
      reply = await route.handle(ctx, rest);
    } catch (err) {
      reply = errorReply(err instanceof ConsulError ? err : new ConsulError(500, (err as Error).message));
    }
    if (reply && !abort.signal.aborted) writeReply(res, reply, base, pretty);
  }
}
