// Active health checks run in the probe thread (probe-thread.ts says why), with
// ActiveHealthChecker's interface and semantics; the verdicts are kept here, on the main
// thread, so `healthy()` and the pool's callbacks behave as with ActiveHealthChecker.
import type { HealthConfig } from '../config/schema';
import type { HealthChecker, TrackOptions } from './active-checker';
import type { FromWorker } from './check-protocol';
import { probeThread, type ProbeThread, type ThreadClient } from './probe-thread';

interface Target {
  seq: number;
  url: string;
  onChange: (healthy: boolean) => void;
  onResult?: (pass: boolean) => void;
  healthy: boolean;
}

export interface RemoteCheckerOptions {
  /** The worker failed (it is restarted); for the pool's log. */
  onError?: (err: Error) => void;
  thread?: ProbeThread;
}

/** ActiveHealthChecker's interface and semantics, run in the probe thread. */
export class RemoteHealthChecker implements HealthChecker, ThreadClient {
  readonly onError?: (err: Error) => void;
  private readonly thread: ProbeThread;
  private readonly id: number;
  private readonly targets = new Map<string, Target>();
  private seq = 0;
  private stopped = false;

  constructor(
    readonly cfg: HealthConfig,
    opts: RemoteCheckerOptions = {},
  ) {
    this.onError = opts.onError;
    this.thread = opts.thread ?? probeThread;
    this.id = this.thread.open(this);
    this.thread.send({ type: 'open', client: this.id, cfg });
  }

  track(id: string, baseUrl: string, onChange: (healthy: boolean) => void, opts: TrackOptions = {}): void {
    if (this.stopped) return;
    const t: Target = { seq: ++this.seq, url: baseUrl, onChange, onResult: opts.onResult, healthy: opts.initiallyHealthy ?? true };
    this.targets.set(id, t);
    this.sendTrack(this.id, id, t);
  }

  untrack(id: string): void {
    if (this.targets.delete(id)) this.thread.send({ type: 'untrack', client: this.id, id });
  }

  healthy(id: string): boolean | undefined {
    return this.targets.get(id)?.healthy;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.targets.clear();
    this.thread.close(this.id);
  }

  /** ProbeThread: one check's result. Stale results (untracked, re-tracked) are dropped. */
  receive(m: FromWorker): void {
    if (m.type !== 'result') return;
    const t = this.targets.get(m.id);
    if (!t || t.seq !== m.seq) return;
    const changed = t.healthy !== m.healthy;
    t.healthy = m.healthy;
    if (changed) t.onChange(m.healthy);
    t.onResult?.(m.pass);
  }

  /** ProbeThread: the worker was restarted; open again and track every target from its verdict. */
  replay(client: number): void {
    this.thread.send({ type: 'open', client, cfg: this.cfg });
    for (const [id, t] of this.targets) this.sendTrack(client, id, t);
  }

  private sendTrack(client: number, id: string, t: Target): void {
    this.thread.send({ type: 'track', client, id, seq: t.seq, url: t.url, initiallyHealthy: t.healthy });
  }
}
