// Random in proportion to effective weight (endpoint weight × slow-start ramp); ignores
// scores. The `random` strategy.
import type { BackendView, Picker } from '../types';

export class RandomPicker implements Picker {
  readonly name = 'random';

  constructor(private readonly random: () => number) {}

  pick(_req: unknown, candidates: readonly BackendView[]): BackendView | undefined {
    let sum = 0;
    for (const b of candidates) sum += b.effectiveWeight;
    let r = this.random() * sum;
    for (const b of candidates) {
      r -= b.effectiveWeight;
      if (r < 0) return b;
    }
    return candidates[candidates.length - 1]; // r hit the sum exactly (rounding)
  }
}
