// Drops the backends a retry already tried (`req.exclude`). Always the first filter of
// every profile. When every candidate was tried, it keeps them all: a second attempt on
// the same backend beats no attempt at all.
import type { BackendView, Filter, SchedulingRequest } from '../types';
import { retain, type Test } from './retain';

export class ExcludeFilter implements Filter, Test {
  readonly name = 'exclude';

  filter(req: SchedulingRequest, candidates: readonly BackendView[], _state: unknown, now: number): readonly BackendView[] {
    if (req.exclude === undefined || req.exclude.size === 0) return candidates;
    const kept = retain(candidates, this, req, now);
    return kept.length === 0 ? candidates : kept;
  }

  accepts(b: BackendView, req: SchedulingRequest): boolean {
    return !req.exclude!.has(b.id);
  }
}
