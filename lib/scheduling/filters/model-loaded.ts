// Preference filter: drop the backends known NOT to have the requested model resident (per
// their last /v1/models answer) and the saturated ones. When none is left (nobody has it
// loaded, or every holder is saturated) the input passes unchanged, and the scorers choose
// a backend that will have to load the model.
//
// Param `queue`: `estimated` (default) judges the queue as estimatedQueue() does (scraped
// waiting plus the requests sent since the scrape), which also caps how many requests a
// backend takes between two scrapes; `scraped` judges the engine's `waiting` alone; `none`
// leaves the queue out (KV and the in-flight limit stay). The prefix-affinity preset uses
// `none`, as its scorer does: it places a new prefix by footprint and keeps followers on
// their prefix, which it cannot do if a burst hides backends at random (the estimate marks
// whichever got the most requests in the current scrape interval; `waiting` is as of each
// backend's own, jittered, scrape).
//
// Residency is read from `signals.loadedModels`, which is undefined until the first scrape
// and after a failed /v1/models. Unknown residency is kept, not dropped: a backend that just
// joined, or one scrape that failed in one Switchyard process, must not move session keys
// (decisions have to agree across instances that scrape independently).
import type { BackendView, Filter, SchedulingRequest } from '../types';
import { isSaturated, type QueueView, type SaturationLimits } from '../signals/load';
import { retain, type Test } from './retain';

export class ModelLoadedFilter implements Filter, Test {
  readonly name = 'model-loaded';

  constructor(
    private readonly limits: SaturationLimits,
    /** Which engine queue the saturation test reads (param `queue`). */
    private readonly queue: QueueView = 'estimated',
  ) {}

  filter(req: SchedulingRequest, candidates: readonly BackendView[], _state: unknown, now: number): readonly BackendView[] {
    if (req.model === undefined) return candidates;
    const kept = retain(candidates, this, req, now);
    return kept.length === 0 ? candidates : kept;
  }

  accepts(b: BackendView, req: SchedulingRequest, now: number): boolean {
    const loaded = b.signals.loadedModels;
    return (loaded === undefined || loaded.has(req.model!)) && !isSaturated(b, now, this.limits, this.queue);
  }
}
