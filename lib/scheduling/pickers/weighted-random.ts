// Random in proportion to total score (llm-d's weighted-random picker): better backends get
// more traffic without taking all of it. All totals 0: uniform.
import type { BackendView, Picker } from '../types';

export class WeightedRandomPicker implements Picker {
  readonly name = 'weighted-random';

  constructor(private readonly random: () => number) {}

  pick(_req: unknown, candidates: readonly BackendView[], totals: Float64Array): BackendView | undefined {
    const n = candidates.length;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += totals[i]!;
    if (sum <= 0) return candidates[Math.floor(this.random() * n)];
    let r = this.random() * sum;
    for (let i = 0; i < n; i++) {
      r -= totals[i]!;
      if (r < 0) return candidates[i];
    }
    return candidates[n - 1]; // r hit the sum exactly (rounding)
  }
}
