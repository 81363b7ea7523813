// The `strategy` values of a pool, as scheduler profiles. A pool's explicit `scheduler:`
// block replaces its strategy. Every profile also starts with the implicit retry filter
// `exclude` (see index.ts).
//
// Affinity scorers weigh more than the load scorers together, so they decide whenever they
// have a say; they stand aside themselves (score 0) when there is no key or prompt, when
// load is imbalanced, or when their backend is saturated, and the load scorers choose. A
// prompt that matches nowhere is placed by prefix-affinity on the smallest index
// footprint (new prefixes spread evenly), the load scorers breaking near-ties.
import type { SchedulerConfig, StrategyName } from '../config/schema';

const FILTERS = ['serves-model', 'model-loaded'];

export const PRESETS: Readonly<Record<StrategyName, SchedulerConfig>> = {
  'round-robin': { filters: FILTERS, scorers: [], picker: 'round-robin' },
  random: { filters: FILTERS, scorers: [], picker: 'random' },
  'least-request': { filters: FILTERS, scorers: ['inflight'], picker: 'power-of-two' },
  'least-queue': { filters: FILTERS, scorers: ['queue'], picker: 'max-score' },
  'kv-aware': { filters: FILTERS, scorers: ['kv-cache', 'queue'], picker: 'max-score' },
  'gpu-aware': { filters: FILTERS, scorers: ['gpu-util', 'queue'], picker: 'max-score' },
  'session-affinity': {
    filters: FILTERS,
    scorers: [{ name: 'session-affinity', weight: 2, params: {} }, 'queue'],
    picker: 'max-score',
  },
  'prefix-affinity': {
    // No queue test: a burst being dispatched must not hide prefix holders, nor backends
    // from the prefix scorer's placement (filters/model-loaded.ts).
    filters: ['serves-model', { name: 'model-loaded', weight: 1, params: { queue: 'none' } }],
    scorers: [{ name: 'prefix-affinity', weight: 3, params: {} }, 'queue', 'kv-cache'],
    picker: 'max-score',
  },
};
