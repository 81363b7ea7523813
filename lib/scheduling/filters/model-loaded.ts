// Preference filter: keep the backends that have the requested model resident (per their
// last /v1/models answer) and are not saturated. When none qualifies (nobody has it loaded,
// every holder is saturated, or residency is unknown everywhere) the input passes unchanged,
// and the scorers choose a backend that will have to load the model.
//
// Residency is read from `signals.loadedModels`, which the scraper clears when /v1/models
// fails, so a backend whose residency is unknown never counts as having the model.
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
    return b.signals.loadedModels?.has(req.model!) === true && !isSaturated(b, now, this.limits);
  }
}
