// Hard filter: drops backends whose discovery Meta (`model`, comma-separated) lists models
// and not the requested one. Backends that list none serve anything; requests without a
// model pass unchanged. May empty the set: the pool then answers "no backend".
import type { BackendView, Filter, SchedulingRequest } from '../types';
import { retain, type Test } from './retain';

export class ServesModelFilter implements Filter, Test {
  readonly name = 'serves-model';

  filter(req: SchedulingRequest, candidates: readonly BackendView[], _state: unknown, now: number): readonly BackendView[] {
    return req.model === undefined ? candidates : retain(candidates, this, req, now);
  }

  accepts(b: BackendView, req: SchedulingRequest): boolean {
    return b.servesModels.size === 0 || b.servesModels.has(req.model!);
  }
}
