// Scores a utilisation fraction u in [0,1] as headroom 1 − u (not normalised across
// candidates: 0.2 free is 0.2 whatever the others have). Stale or missing signals score 0:
// unknown is treated as full, never as idle, and a load scorer in the same profile then
// decides between such backends.
import type { BackendSignals, BackendView, Scorer } from '../types';

export class HeadroomScorer implements Scorer {
  constructor(
    readonly name: string,
    private readonly read: (s: BackendSignals) => number | undefined,
  ) {}

  score(_req: unknown, candidates: readonly BackendView[], out: Float64Array, _state: unknown, now: number): void {
    for (let i = 0; i < candidates.length; i++) {
      const b = candidates[i]!;
      const u = b.signalsFresh(now) ? this.read(b.signals) : undefined;
      out[i] = u === undefined ? 0 : 1 - Math.min(1, Math.max(0, u));
    }
  }
}

