// The local agent behind /v1/agent/*: it owns the services registered through it and runs
// their checks (TTL, HTTP, TCP), then syncs them to the catalog of its datacenter as Consul's
// anti-entropy does (agent/local/state.go):
// - a status change is synced at once; an output-only change waits for
//   `check_update_interval` (issue #9113), and an unchanged update writes nothing;
// - without a cluster leader the agent still accepts writes and syncs once a leader is back;
// - a check that stays critical for DeregisterCriticalServiceAfter (at least 1 m) removes
//   its service.
import type { AgentCheckDef, AgentServiceDef } from './agent-definition';
import type { CheckInput, CheckStatus } from './catalog';
import type { Clock, Timer } from './clock';
import type { Datacenter } from './datacenter';
import { formatGoDuration } from './duration';
import { ConsulError } from './http';
import type { Leadership } from './leadership';
import { probeHttp, probeTcp, type ProbeResult } from './probes';

export interface AgentOptions {
  node: string;
  address: string;
  datacenter: Datacenter;
  leadership: Leadership;
  clock: Clock;
  /** Consul's check_update_interval (5 m). */
  checkUpdateIntervalMs: number;
  /** Consul raises shorter DeregisterCriticalServiceAfter values to this (1 m). */
  minDeregisterAfterMs: number;
  /** Called after each HTTP/TCP probe has been applied, so tests can await probes. */
  onProbe(checkId: string): void;
}

interface AgentCheck {
  id: string;
  name: string;
  serviceId: string;
  def: AgentCheckDef;
  status: CheckStatus;
  output: string;
  /** The output the catalog has; differs from `output` while a sync is deferred. */
  syncedOutput: string;
  successes: number;
  failures: number;
  probes: number;
  ttlTimer?: Timer;
  runTimer?: Timer;
  deferTimer?: Timer;
  reapTimer?: Timer;
}

const MAINTENANCE_PREFIX = '_service_maintenance:';

export class Agent {
  private readonly services = new Map<string, AgentServiceDef>();
  private readonly checks = new Map<string, AgentCheck>();
  private readonly pending = new Set<string>();
  private closed = false;

  constructor(private readonly opts: AgentOptions) {}

  get node(): string {
    return this.opts.node;
  }

  serviceDef(id: string): AgentServiceDef | undefined {
    return this.services.get(id);
  }

  /** The service a check belongs to, or undefined when the agent has no such check. */
  checkService(checkId: string): AgentServiceDef | undefined {
    const c = this.checks.get(checkId);
    return c && this.services.get(c.serviceId);
  }

  register(service: AgentServiceDef, checkDefs: AgentCheckDef[], replaceExistingChecks: boolean): void {
    this.services.set(service.ID, service);
    const keep = new Set<string>();
    checkDefs.forEach((def, i) => {
      const id = def.CheckID ?? (checkDefs.length > 1 ? `service:${service.ID}:${i + 1}` : `service:${service.ID}`);
      keep.add(id);
      const prev = this.checks.get(id);
      if (prev) this.stopTimers(prev);
      // Re-registration keeps the live status and output of a check with the same ID.
      const check: AgentCheck = {
        id,
        name: def.Name ?? `Service '${service.Name}' check`,
        serviceId: service.ID,
        def,
        status: prev?.status ?? def.Status ?? 'critical',
        output: prev?.output ?? '',
        syncedOutput: prev?.syncedOutput ?? '',
        successes: 0,
        failures: 0,
        probes: 0,
      };
      this.checks.set(id, check);
      this.startCheck(check);
    });
    if (replaceExistingChecks) {
      for (const c of [...this.checks.values()]) {
        if (c.serviceId === service.ID && !keep.has(c.id) && !c.id.startsWith(MAINTENANCE_PREFIX)) this.dropCheck(c);
      }
    }
    this.sync(service.ID);
  }

  deregister(id: string): boolean {
    if (!this.services.delete(id)) return false;
    for (const c of [...this.checks.values()]) if (c.serviceId === id) this.dropCheck(c);
    this.sync(id);
    return true;
  }

  /** pass/warn/fail/update of a TTL check: sets the status and restarts the TTL clock. */
  updateTtl(checkId: string, status: CheckStatus, output: string): void {
    const check = this.checks.get(checkId);
    if (!check) throw unknownCheck(checkId);
    if (check.def.kind !== 'ttl') throw new ConsulError(500, `CheckID "${checkId}" does not have associated TTL`);
    this.armTtl(check);
    this.setStatus(check, status, output);
  }

  /** Test control: force a check's status, whatever its kind. */
  forceStatus(checkId: string, status: CheckStatus, output?: string): boolean {
    const check = this.checks.get(checkId);
    if (!check) return false;
    this.setStatus(check, status, output ?? check.output);
    return true;
  }

  /** Test control: expire a TTL check now, as if its TTL had run out. */
  expireTtl(checkId: string): void {
    const check = this.checks.get(checkId);
    if (!check || check.def.kind !== 'ttl') throw new Error(`no TTL check ${checkId}`);
    check.ttlTimer?.cancel();
    this.onTtlExpired(check);
  }

  maintenance(serviceId: string, enable: boolean, reason: string): void {
    const id = MAINTENANCE_PREFIX + serviceId;
    const existing = this.checks.get(id);
    if (enable && !existing) {
      this.checks.set(id, {
        id,
        name: 'Service Maintenance Mode',
        serviceId,
        def: { kind: 'alias', Notes: reason || 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.', successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 0, definition: {} },
        status: 'critical',
        output: '',
        syncedOutput: '',
        successes: 0,
        failures: 0,
        probes: 0,
      });
    } else if (!enable && existing) {
      this.checks.delete(id);
    } else {
      return;
    }
    this.sync(serviceId);
  }

  /** GET /v1/agent/services */
  servicesJson(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of this.services.values()) {
      out[s.ID] = {
        ...(s.Kind ? { Kind: s.Kind } : {}),
        ID: s.ID,
        Service: s.Name,
        Tags: s.Tags,
        Meta: s.Meta ?? {},
        ...(s.TaggedAddresses ? { TaggedAddresses: s.TaggedAddresses } : {}),
        ...(s.Port ? { Port: s.Port } : {}),
        Address: s.Address,
        EnableTagOverride: s.EnableTagOverride,
        Datacenter: this.opts.datacenter.name,
        Weights: s.Weights,
      };
    }
    return out;
  }

  /** GET /v1/agent/checks: the agent's live view, deferred output included. */
  checksJson(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const c of this.checks.values()) {
      const svc = this.services.get(c.serviceId);
      out[c.id] = {
        Node: this.opts.node,
        CheckID: c.id,
        Name: c.name,
        Status: c.status,
        Notes: c.def.Notes,
        Output: c.output,
        ServiceID: c.serviceId,
        ServiceName: svc?.Name ?? '',
        ServiceTags: svc?.Tags ?? [],
        Type: c.id.startsWith(MAINTENANCE_PREFIX) ? '' : c.def.kind,
      };
    }
    return out;
  }

  /** Pushes everything that could not sync while there was no leader. */
  syncPending(): void {
    for (const id of [...this.pending]) this.sync(id);
  }

  close(): void {
    this.closed = true;
    for (const c of this.checks.values()) this.stopTimers(c);
  }

  // ---- internals ----

  private startCheck(check: AgentCheck): void {
    if (check.def.kind === 'ttl') this.armTtl(check);
    else if (check.def.kind === 'http' || check.def.kind === 'tcp') void this.runProbe(check);
    this.trackCritical(check);
  }

  private armTtl(check: AgentCheck): void {
    check.ttlTimer?.cancel();
    check.ttlTimer = this.opts.clock.setTimer(() => this.onTtlExpired(check), check.def.ttlMs!);
  }

  private onTtlExpired(check: AgentCheck): void {
    check.ttlTimer = undefined;
    const last = check.output;
    this.setStatus(check, 'critical', last ? `TTL expired (last output before timeout follows): ${last}` : 'TTL expired');
  }

  private async runProbe(check: AgentCheck): Promise<void> {
    const { def } = check;
    const result: ProbeResult = def.http ? await probeHttp(def.http, def.timeoutMs!) : await probeTcp(def.tcp!, def.timeoutMs!);
    if (this.closed || this.checks.get(check.id) !== check) return;
    this.applyThresholds(check, result);
    check.runTimer = this.opts.clock.setTimer(() => void this.runProbe(check), def.intervalMs!);
    check.probes++;
    this.opts.onProbe(check.id);
  }

  /** How many HTTP/TCP probes of a check have completed (0 for unknown checks). */
  probeCount(checkId: string): number {
    return this.checks.get(checkId)?.probes ?? 0;
  }

  /** SuccessBeforePassing / FailuresBeforeWarning / FailuresBeforeCritical (agent/checks StatusHandler). */
  private applyThresholds(check: AgentCheck, r: ProbeResult): void {
    const { def } = check;
    if (r.status !== 'critical') {
      check.successes++;
      check.failures = 0;
      if (check.successes >= def.successBeforePassing) this.setStatus(check, r.status, r.output);
      return;
    }
    check.failures++;
    check.successes = 0;
    if (check.failures >= def.failuresBeforeCritical) this.setStatus(check, 'critical', r.output);
    else if (check.failures >= def.failuresBeforeWarning) this.setStatus(check, 'warning', r.output);
  }

  private setStatus(check: AgentCheck, status: CheckStatus, output: string): void {
    if (status === check.status && output === check.output) return;
    const statusChanged = status !== check.status;
    check.status = status;
    check.output = output;
    this.trackCritical(check);
    if (statusChanged) {
      this.sync(check.serviceId);
    } else if (!check.deferTimer) {
      check.deferTimer = this.opts.clock.setTimer(() => {
        check.deferTimer = undefined;
        this.sync(check.serviceId);
      }, this.opts.checkUpdateIntervalMs);
    }
  }

  private trackCritical(check: AgentCheck): void {
    const after = check.def.deregisterAfterMs;
    if (after === undefined || after <= 0) return;
    if (check.status !== 'critical') {
      check.reapTimer?.cancel();
      check.reapTimer = undefined;
    } else if (!check.reapTimer) {
      check.reapTimer = this.opts.clock.setTimer(() => this.deregister(check.serviceId), Math.max(after, this.opts.minDeregisterAfterMs));
    }
  }

  private dropCheck(check: AgentCheck): void {
    this.stopTimers(check);
    this.checks.delete(check.id);
  }

  private stopTimers(check: AgentCheck): void {
    for (const t of [check.ttlTimer, check.runTimer, check.deferTimer, check.reapTimer]) t?.cancel();
    check.ttlTimer = check.runTimer = check.deferTimer = check.reapTimer = undefined;
  }

  /** Anti-entropy for one service: the catalog gets the agent's view, flushing deferred output. */
  private sync(serviceId: string): void {
    if (!this.opts.leadership.hasLeader) {
      this.pending.add(serviceId);
      return;
    }
    this.pending.delete(serviceId);
    const { catalog } = this.opts.datacenter;
    const svc = this.services.get(serviceId);
    if (!svc) {
      if (catalog.findInstance(serviceId, this.opts.node)) catalog.removeInstance(this.opts.node, serviceId);
      return;
    }
    const checks: CheckInput[] = [];
    for (const c of this.checks.values()) {
      if (c.serviceId !== serviceId) continue;
      c.deferTimer?.cancel();
      c.deferTimer = undefined;
      c.syncedOutput = c.output;
      const maintenance = c.id.startsWith(MAINTENANCE_PREFIX);
      checks.push({
        CheckID: c.id,
        Name: c.name,
        Status: c.status,
        Notes: c.def.Notes,
        Output: c.syncedOutput,
        Type: maintenance ? '' : c.def.kind,
        Interval: c.def.kind === 'ttl' || maintenance || c.def.intervalMs === undefined ? '' : formatGoDuration(c.def.intervalMs),
        Timeout: c.def.kind === 'ttl' || maintenance || c.def.timeoutMs === undefined ? '' : formatGoDuration(c.def.timeoutMs),
        Definition: c.def.definition,
      });
    }
    catalog.upsertInstance({
      node: this.opts.node,
      address: this.opts.address,
      service: {
        ID: svc.ID,
        Service: svc.Name,
        Kind: svc.Kind,
        Tags: svc.Tags,
        Address: svc.Address,
        Port: svc.Port,
        Meta: svc.Meta,
        Weights: svc.Weights,
        EnableTagOverride: svc.EnableTagOverride,
        TaggedAddresses: svc.TaggedAddresses,
      },
      checks,
    });
  }
}

export function unknownCheck(id: string): ConsulError {
  return new ConsulError(404, `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`);
}

export function unknownService(id: string): ConsulError {
  return new ConsulError(404, `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
}
