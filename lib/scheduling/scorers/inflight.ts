// Least request: local in-flight count per unit of effective weight (so slow-start and
// weights shape the load), min-max normalised: fewest scores 1, most 0, all equal 1.
// Needs no scraped signal, so stale metrics do not affect it.
import type { BackendView, Scorer } from '../types';
import { lowerIsBetter } from './normalize';

export class InflightScorer implements Scorer {
  readonly name = 'inflight';

  score(_req: unknown, candidates: readonly BackendView[], out: Float64Array): void {
    for (let i = 0; i < candidates.length; i++) out[i] = candidates[i]!.inflight / candidates[i]!.effectiveWeight;
    lowerIsBetter(out, candidates.length);
  }
}
