// Messages between the main thread (remote-checker.ts) and the health-check worker
// (check-worker.ts). `checker` names one pool's checker; `seq` one tracking of a backend,
// so a result that was in flight when its target was untracked or re-tracked is dropped.
import type { HealthConfig } from '../config/schema';

export type ToWorker =
  | { type: 'open'; checker: number; cfg: HealthConfig }
  | { type: 'track'; checker: number; id: string; seq: number; url: string; initiallyHealthy: boolean }
  | { type: 'untrack'; checker: number; id: string }
  | { type: 'close'; checker: number };

/** One check's result and the verdict after it. */
export type FromWorker = { type: 'result'; checker: number; id: string; seq: number; pass: boolean; healthy: boolean };
