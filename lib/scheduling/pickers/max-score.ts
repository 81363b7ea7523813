// Highest total score; ties broken uniformly at random (one pass, reservoir-style), so that
// equal backends share the load instead of the first one taking it all.
import type { BackendView, Picker } from '../types';

export class MaxScorePicker implements Picker {
  readonly name = 'max-score';

  constructor(private readonly random: () => number) {}

  pick(_req: unknown, candidates: readonly BackendView[], totals: Float64Array): BackendView | undefined {
    let best = -1;
    let ties = 0;
    for (let i = 0; i < candidates.length; i++) {
      if (best < 0 || totals[i]! > totals[best]!) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best] && this.random() * ++ties < 1) {
        best = i;
      }
    }
    return candidates[best];
  }
}
