// Blocking queries as agent/http.go parseWait/parseConsistency and
// agent/blockingquery/blockingquery.go implement them:
// - `index` absent or 0: answer at once, whatever `wait` says;
// - otherwise re-run the query on every committed write until its index passes `index`,
//   or until the timeout, then answer 200 with the current body and index (which is lower
//   than `index` when the client's index came from a "future" the server never saw);
// - the timeout is `wait` (default 5 m, capped at 10 m) plus a random [0, wait/16).
import { parseGoDuration } from './duration';
import { ConsulError, uintParam } from './http';
import { Raft, reportedIndex } from './raft';

export type Consistency = 'leader' | 'stale' | 'consistent';

export interface QueryTimes {
  /** Used when `wait` is absent or ≤ 0 (Consul's default_query_time, 5 m). */
  defaultQueryTimeMs: number;
  /** Upper bound of `wait` (Consul's max_query_time, 10 m). */
  maxQueryTimeMs: number;
}

export interface BlockingParams {
  minIndex: number;
  timeoutMs: number;
}

export function parseBlocking(query: URLSearchParams, times: QueryTimes): BlockingParams {
  let waitMs = 0;
  const wait = query.get('wait');
  if (wait !== null && wait !== '') {
    const parsed = parseGoDuration(wait);
    if (parsed === undefined) throw new ConsulError(400, 'Invalid wait time');
    waitMs = parsed;
  }
  const minIndex = query.get('index') === '' ? 0 : (uintParam(query, 'index', 'Invalid index') ?? 0);
  let timeoutMs = waitMs <= 0 ? times.defaultQueryTimeMs : Math.min(waitMs, times.maxQueryTimeMs);
  timeoutMs += Math.random() * (timeoutMs / 16);
  return { minIndex, timeoutMs };
}

/** `stale`, `consistent` and `leader` are presence flags; stale with consistent is a 400. */
export function parseConsistency(query: URLSearchParams): Consistency {
  const stale = query.has('stale');
  const consistent = query.has('consistent');
  if (stale && consistent) throw new ConsulError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  const maxStale = query.get('max_stale');
  if (maxStale !== null && maxStale !== '' && parseGoDuration(maxStale) === undefined) {
    throw new ConsulError(400, `Invalid max_stale value "${maxStale}"`);
  }
  return stale ? 'stale' : consistent ? 'consistent' : 'leader';
}

/** Lets the server count requests currently parked in a blocking wait. */
export interface BlockTracker {
  enter(): void;
  leave(): void;
}

/**
 * Runs `run` as a blocking query. `run` is synchronous and returns its own index, so the
 * per-service / per-prefix index rules live with the data, not here.
 */
export function block<T extends { index: number }>(
  raft: Raft,
  params: BlockingParams,
  run: () => T,
  signal: AbortSignal,
  tracker: BlockTracker,
): Promise<T | undefined> {
  const first = run();
  if (params.minIndex === 0 || reportedIndex(first.index) > params.minIndex) return Promise.resolve(first);
  return new Promise((resolve) => {
    tracker.enter();
    const finish = (result: T | undefined) => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      tracker.leave();
      resolve(result);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(() => finish(run()), params.timeoutMs);
    const unsubscribe = raft.subscribe(() => {
      const r = run();
      if (reportedIndex(r.index) > params.minIndex) finish(r);
    });
    signal.addEventListener('abort', onAbort);
  });
}
