// Preference filter: drop the backends known NOT to have the requested model resident (per
// their last /v1/models answer) and the saturated ones. When none is left (nobody has it
// loaded, or every holder is saturated) the input passes unchanged, and the scorers choose
// a backend that will have to load the model.
//
// Saturation here is the engine's queue as scraped (plus KV and the in-flight limit), not
// the estimate that adds what this process sent since the scrape: a burst being dispatched
// (vLLM takes it all into its batch, `waiting` stays 0) must not narrow the candidates, or a
// prefix scorer would place new prompts among whoever happened to get fewer requests in the
// last scrape interval. The scorers still see the estimate.
//
// Residency is read from `signals.loadedModels`, which is undefined until the first scrape
// and after a failed /v1/models. Unknown residency is kept, not dropped: a backend that just
// joined, or one scrape that failed in one Switchyard process, must not move session keys
// (decisions have to agree across instances that scrape independently).
import type { BackendView, Filter, SchedulingRequest } from '../types';
import { isSaturated, type SaturationLimits } from '../signals/load';
import { retain, type Test } from './retain';

export class ModelLoadedFilter implements Filter, Test {
  readonly name = 'model-loaded';

  constructor(private readonly limits: SaturationLimits) {}

  filter(req: SchedulingRequest, candidates: readonly BackendView[], _state: unknown, now: number): readonly BackendView[] {
    if (req.model === undefined) return candidates;
    const kept = retain(candidates, this, req, now);
    return kept.length === 0 ? candidates : kept;
  }

  accepts(b: BackendView, req: SchedulingRequest, now: number): boolean {
    const loaded = b.signals.loadedModels;
    return (loaded === undefined || loaded.has(req.model!)) && !isSaturated(b, now, this.limits, true);
  }
}
