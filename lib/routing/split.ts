// Weight tables for blue/green splits.
//
// Semantics (stated here because operators rely on them):
// - Weights are relative, non-negative numbers; a side with weight 0 gets no traffic.
//   {blue: 90, green: 10} and {blue: 9, green: 1} are the same table.
// - Without `sticky`, each request is an independent weighted choice.
// - With `sticky`, a key picks its side by weighted rendezvous hashing: every side scores
//   -ln(u)/w with u a stable hash of (key, side) in (0,1), lowest wins. The choice is a pure
//   function of the key and the table, so every Switchyard instance agrees, and when the
//   weights change the only keys that move are those that must: going from 10% to 20%
//   moves 10% of all keys (≈11% of blue's), all from blue to green, and none back.
import { hash53 } from '../scheduling/hash';

/** A stable uniform number in (0,1) for (key, side). */
function unitHash(key: string, side: string): number {
  return (hash53(key, hash53(side, 0)) + 0.5) / 2 ** 53;
}

export interface WeightedSide<T> {
  readonly name: string;
  readonly weight: number;
  readonly target: T;
}

export class WeightTable<T> {
  readonly sides: readonly WeightedSide<T>[];
  private readonly live: readonly WeightedSide<T>[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(sides: readonly WeightedSide<T>[]) {
    this.sides = sides;
    this.live = sides.filter((s) => s.weight > 0);
    if (this.live.length === 0) throw new Error('a weight table needs a side with weight > 0');
    this.cumulative = new Float64Array(this.live.length);
    let sum = 0;
    this.live.forEach((s, i) => (this.cumulative[i] = sum += s.weight));
    this.total = sum;
  }

  /** Independent weighted choice; `r` in [0,1) (injectable for tests). */
  pick(r: number = Math.random()): WeightedSide<T> {
    const x = r * this.total;
    const c = this.cumulative;
    for (let i = 0; i < c.length; i++) if (x < c[i]!) return this.live[i]!;
    return this.live[this.live.length - 1]!;
  }

  /** Sticky choice for `key` (weighted rendezvous hashing). */
  pickSticky(key: string): WeightedSide<T> {
    let best = this.live[0]!;
    let bestScore = Infinity;
    for (const side of this.live) {
      const score = -Math.log(unitHash(key, side.name)) / side.weight;
      if (score < bestScore) {
        bestScore = score;
        best = side;
      }
    }
    return best;
  }
}
