// Slow start: a backend that joins a running pool, or comes back from an ejection or a
// failed health check, gets a share of its weight that grows linearly from
// min_weight_percent to 100 % over `window`, so a cold model server is not handed a full
// share at once. Backends present when the pool starts are not ramped (HAProxy's
// slowstart: "never at start"), hence no ramp until `begin` is called.
//
// Envoy's slow start uses max(min_weight_percent, t / window) instead; starting the line at
// the minimum avoids a flat first stretch.
import type { SlowStartConfig } from '../config/schema';

export class SlowStart {
  private since = 0;
  private _endsAt = -Infinity;
  private readonly window: number;
  private readonly min: number;

  constructor(cfg: SlowStartConfig) {
    this.window = cfg.window;
    this.min = cfg.min_weight_percent / 100;
  }

  /** Clock time at which the ramp is complete; -Infinity before any `begin`. */
  get endsAt(): number {
    return this._endsAt;
  }

  /** Start (or restart) the ramp at `now`. */
  begin(now: number): void {
    this.since = now;
    this._endsAt = now + this.window;
  }

  /** Weight multiplier in [min_weight_percent / 100, 1]; 1 outside a ramp or with a zero window. */
  factor(now: number): number {
    if (now >= this._endsAt) return 1;
    const elapsed = Math.max(0, now - this.since);
    return this.min + ((1 - this.min) * elapsed) / this.window;
  }
}
