// Active health checks for one pool: GET `health.path` on every tracked backend, one check
// in flight per backend at most, each bounded by `health.timeout` (connect, headers and
// body together). A 2xx answer passes; anything else, or no answer, fails.
//
// Verdicts follow HAProxy's rise/fall: a healthy backend turns unhealthy after
// `unhealthy_threshold` consecutive failures, an unhealthy one healthy after
// `healthy_threshold` consecutive passes. A backend tracked as unhealthy that has never
// been checked needs a single pass (Envoy's startup rule), so a pool comes up quickly.
//
// Timing: the first check of a backend comes at a random point of the first interval, so
// a fleet tracked at once does not check in lockstep; after that each check starts
// interval × (1 ± jitter) after the previous one ended.
import { Agent, request, type Dispatcher } from 'undici';
import type { HealthConfig } from '../config/schema';
import { type Timers, nodeTimers } from './timers';

export interface TrackOptions {
  /** The verdict before any check; default true (discovery says the backend is up). */
  initiallyHealthy?: boolean;
  /**
   * Every check's result, after `onChange`. A pool un-ejects on a pass, as Envoy does with
   * successful_active_health_check_uneject_host.
   */
  onResult?: (pass: boolean) => void;
}

/** What a pool needs of a checker: ActiveHealthChecker here, RemoteHealthChecker in a worker thread. */
export interface HealthChecker {
  track(id: string, baseUrl: string, onChange: (healthy: boolean) => void, opts?: TrackOptions): void;
  untrack(id: string): void;
  healthy(id: string): boolean | undefined;
  stop(): Promise<void>;
}

export interface ActiveCheckerOptions {
  timers?: Timers;
  /** Returns [0, 1); drives the first-check spread and the jitter. */
  random?: () => number;
  /** Where checks are sent; default a private Agent, closed by `stop`. */
  dispatcher?: Dispatcher;
}

interface Target {
  readonly url: string;
  readonly onChange: (healthy: boolean) => void;
  readonly onResult?: (pass: boolean) => void;
  healthy: boolean;
  checked: boolean;
  passes: number;
  failures: number;
  timer?: unknown;
  inflight?: AbortController;
}

export class ActiveHealthChecker implements HealthChecker {
  private readonly targets = new Map<string, Target>();
  private readonly cfg: HealthConfig;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher;
  private readonly ownAgent?: Agent;

  /** Build one only when `cfg.enabled`; the checker itself does not look at the flag. */
  constructor(cfg: HealthConfig, opts: ActiveCheckerOptions = {}) {
    this.cfg = cfg;
    this.timers = opts.timers ?? nodeTimers;
    this.random = opts.random ?? Math.random;
    if (opts.dispatcher) this.dispatcher = opts.dispatcher;
    else this.dispatcher = this.ownAgent = new Agent();
  }

  /**
   * Start checking `baseUrl` (an origin) under `id`; `onChange` hears every change of
   * verdict. Tracking an id again replaces the previous target.
   */
  track(id: string, baseUrl: string, onChange: (healthy: boolean) => void, opts: TrackOptions = {}): void {
    this.untrack(id);
    const target: Target = {
      url: new URL(this.cfg.path, baseUrl).href,
      onChange,
      onResult: opts.onResult,
      healthy: opts.initiallyHealthy ?? true,
      checked: false,
      passes: 0,
      failures: 0,
    };
    this.targets.set(id, target);
    this.schedule(id, target, this.random() * this.cfg.interval);
  }

  /** Stop checking `id`; a check in flight is aborted and its result dropped. */
  untrack(id: string): void {
    const target = this.targets.get(id);
    if (!target) return;
    this.targets.delete(id);
    this.timers.clearTimeout(target.timer);
    target.inflight?.abort();
  }

  /** The current verdict for `id`, undefined when not tracked. */
  healthy(id: string): boolean | undefined {
    return this.targets.get(id)?.healthy;
  }

  /** Stop every check; closes the private Agent. */
  async stop(): Promise<void> {
    for (const id of [...this.targets.keys()]) this.untrack(id);
    await this.ownAgent?.destroy();
  }

  private schedule(id: string, target: Target, ms: number): void {
    target.timer = this.timers.setTimeout(() => void this.check(id, target), ms);
  }

  private async check(id: string, target: Target): Promise<void> {
    target.timer = undefined;
    const ac = (target.inflight = new AbortController());
    const deadline = this.timers.setTimeout(() => ac.abort(), this.cfg.timeout);
    let pass = false;
    try {
      const res = await request(target.url, {
        method: 'GET',
        dispatcher: this.dispatcher,
        signal: ac.signal,
        headers: { 'user-agent': 'switchyard-health-check' },
      });
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      await res.body.dump(); // read it all: a half-read body would pin the connection
      pass = ok;
    } catch {
      // Refused, reset, timed out or aborted: a failed check (dropped below if untracked).
    } finally {
      this.timers.clearTimeout(deadline);
      target.inflight = undefined;
    }
    if (this.targets.get(id) !== target) return;
    const changed = this.record(target, pass);
    const jitter = this.cfg.jitter * (2 * this.random() - 1);
    this.schedule(id, target, this.cfg.interval * (1 + jitter));
    // Callbacks last: one that throws must not stop the checks.
    if (changed) target.onChange(target.healthy);
    target.onResult?.(pass);
  }

  /** Count one result; true when the verdict flipped. */
  private record(target: Target, pass: boolean): boolean {
    const firstCheck = !target.checked;
    target.checked = true;
    if (pass) {
      target.failures = 0;
      target.passes++;
      if (target.healthy || (target.passes < this.cfg.healthy_threshold && !firstCheck)) return false;
    } else {
      target.passes = 0;
      target.failures++;
      if (!target.healthy || target.failures < this.cfg.unhealthy_threshold) return false;
    }
    target.healthy = pass;
    return true;
  }
}
