// GPU idleness: 1 − DCGM_FI_DEV_GPU_UTIL/100, in [0,1]; for backends whose /metrics carries
// the DCGM exporter's series. Stale or not exported: 0 (see HeadroomScorer).
import type { Scorer } from '../types';
import { HeadroomScorer } from './headroom';

export const gpuUtilScorer = (): Scorer => new HeadroomScorer('gpu-util', (s) => s.gpuUtil);
