// Smooth weighted round-robin (nginx's algorithm) over effective weights; ignores scores.
// Each pick adds every candidate's weight to its counter, takes the largest counter and
// subtracts the total from it: weights 5:1:1 give a a b a c a a, not a a a a a b c.
// Counters live per backend id, so the rotation survives candidate sets that change from
// request to request (filters, retries).
import type { BackendForgetter, BackendView, Picker } from '../types';
import { SlotTable, grow } from '../slots';

export class RoundRobinPicker implements Picker, BackendForgetter {
  readonly name = 'round-robin';
  private readonly slots = new SlotTable();
  private current = new Float64Array(16);

  pick(_req: unknown, candidates: readonly BackendView[]): BackendView | undefined {
    let total = 0;
    let best = -1;
    let bestSlot = 0;
    for (let i = 0; i < candidates.length; i++) {
      const b = candidates[i]!;
      const s = this.slots.slot(b.id);
      this.current = grow(this.current, s + 1);
      this.current[s] += b.effectiveWeight;
      total += b.effectiveWeight;
      if (best < 0 || this.current[s]! > this.current[bestSlot]!) {
        best = i;
        bestSlot = s;
      }
    }
    if (best < 0) return undefined;
    this.current[bestSlot] -= total;
    return candidates[best];
  }

  removeBackend(id: string): void {
    const s = this.slots.release(id);
    if (s !== undefined) this.current[s] = 0;
  }
}
