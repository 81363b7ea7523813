// Shortest engine queue: the estimated queue (scraped waiting + requests sent since the
// scrape), min-max normalised: shortest scores 1, longest 0, all equal 1. Ties are broken
// by the local in-flight count (weighted 1/1024, below one queued request): an engine such
// as vLLM admits up to max_num_seqs at once, so `waiting` stays 0 until it is overloaded,
// and equal queues must not fall back to random picks.
// Stale or missing signals: the backend's local in-flight count stands in for its queue.
// That is an upper bound of what we put in it, so a backend we cannot see is never taken
// for idle, yet is not shut out either.
import type { BackendView, Scorer } from '../types';
import { estimatedQueue } from '../signals/load';
import { lowerIsBetter } from './normalize';

const TIE_BREAK = 1024;

export class QueueScorer implements Scorer {
  readonly name = 'queue';

  score(_req: unknown, candidates: readonly BackendView[], out: Float64Array, _state: unknown, now: number): void {
    for (let i = 0; i < candidates.length; i++) {
      const b = candidates[i]!;
      out[i] = (estimatedQueue(b, now) ?? b.inflight) + b.inflight / TIE_BREAK;
    }
    lowerIsBetter(out, candidates.length);
  }
}
