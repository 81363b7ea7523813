// Power of two choices: two distinct candidates at random, the higher total wins (the first
// on a tie). With the `inflight` scorer this is least-request as Envoy does it: nearly the
// balance of a full scan, without every instance herding onto the same least-loaded backend.
import type { BackendView, Picker } from '../types';

export class PowerOfTwoPicker implements Picker {
  readonly name = 'power-of-two';

  constructor(private readonly random: () => number) {}

  pick(_req: unknown, candidates: readonly BackendView[], totals: Float64Array): BackendView | undefined {
    const n = candidates.length;
    if (n < 2) return candidates[0];
    const a = Math.floor(this.random() * n);
    let b = Math.floor(this.random() * (n - 1));
    if (b >= a) b++;
    return candidates[totals[b]! > totals[a]! ? b : a];
  }
}
