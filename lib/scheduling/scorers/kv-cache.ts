// KV-cache headroom: 1 − kv_cache_usage_perc (vLLM) or 1 − token_usage (SGLang), in [0,1].
// Stale or not exported: 0 (see HeadroomScorer).
import type { Scorer } from '../types';
import { HeadroomScorer } from './headroom';

export const kvCacheScorer = (): Scorer => new HeadroomScorer('kv-cache', (s) => s.kvUsage);
