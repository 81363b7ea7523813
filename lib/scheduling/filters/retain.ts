// The one loop every filter needs: keep the candidates a test accepts, order preserved,
// copying only when something is actually dropped (the common case allocates nothing).
import type { BackendView, SchedulingRequest } from '../types';

export interface Test {
  accepts(b: BackendView, req: SchedulingRequest, now: number): boolean;
}

export function retain(candidates: readonly BackendView[], test: Test, req: SchedulingRequest, now: number): readonly BackendView[] {
  let out: BackendView[] | undefined;
  for (let i = 0; i < candidates.length; i++) {
    const b = candidates[i]!;
    if (test.accepts(b, req, now)) out?.push(b);
    else out ??= candidates.slice(0, i);
  }
  return out ?? candidates;
}
