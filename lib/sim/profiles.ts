// Hardware/model profiles of the simulator (spec §5). Times are model milliseconds.
// Step time = T0 + a·decodes + b·prefill_tokens + c·KV_tokens_read/1000.
//
// Checks (8B): a 2,048-token prompt on an idle engine gives TTFT = 10 + 6 + 0.06·2048 +
// 0.039·2.048 ≈ 139 ms; a batch of 256 decodes at 1k context gives 6 + 0.03·256 +
// 0.039·256·1.024 ≈ 24 ms per step (≈ 10.8k tok/s).

export interface Profile {
  readonly name: string;
  /** Fixed per-step cost (memory-bound weight read), ms. */
  readonly t0Ms: number;
  /** Per decoding sequence, ms. */
  readonly aMs: number;
  /** Per uncached prefill token, ms. */
  readonly bMs: number;
  /** Per 1,000 KV tokens read in the step, ms. */
  readonly cMsPer1k: number;
  /** KV-cache capacity in tokens with the default model loaded. */
  readonly kvTokens: number;
  /** API-server overhead added once per request before it reaches the scheduler, ms. */
  readonly overheadMs: number;
  /** HBM of the instance (all its GPUs), GB; the KV pool is 0.9·HBM − Σweights − 5 GB. */
  readonly hbmGB: number;
  readonly gpus: number;
  readonly gpuType: string;
  readonly gpuModelName: string;
  readonly defaultModel: string;
  readonly defaultWeightsGB: number;
  readonly maxModelLen: number;
}

export const PROFILES: Readonly<Record<string, Profile>> = {
  'llama3-8b-h100': {
    name: 'llama3-8b-h100',
    t0Ms: 6.0,
    aMs: 0.03,
    bMs: 0.06,
    cMsPer1k: 0.039,
    kvTokens: 400_000,
    overheadMs: 10,
    hbmGB: 80,
    gpus: 1,
    gpuType: 'H100-80GB',
    gpuModelName: 'NVIDIA H100 80GB HBM3',
    defaultModel: 'llama-3-8b',
    defaultWeightsGB: 16,
    maxModelLen: 131_072,
  },
  'qwen3-32b-2xh100': {
    name: 'qwen3-32b-2xh100',
    t0Ms: 11,
    aMs: 0.05,
    bMs: 0.2,
    cMsPer1k: 0.04,
    kvTokens: 307_328,
    overheadMs: 15,
    hbmGB: 160,
    gpus: 2,
    gpuType: '2xH100-80GB',
    gpuModelName: 'NVIDIA H100 80GB HBM3',
    defaultModel: 'qwen3-32b',
    defaultWeightsGB: 64,
    maxModelLen: 40_960,
  },
};

export const DEFAULT_PROFILE = 'llama3-8b-h100';

export function getProfile(name: string): Profile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown profile "${name}" (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}

/** Model load time (spec §4): 20 s + weightsGB/2 s, in model ms. */
export function loadTimeMs(weightsGB: number): number {
  return 20_000 + (weightsGB / 2) * 1000;
}

/**
 * KV capacity in tokens for a set of resident weights: the pool is 0.9·HBM − Σweights − 5 GB,
 * anchored so that the profile's default model alone gives exactly `profile.kvTokens`.
 */
export function kvCapacityFor(profile: Profile, residentWeightsGB: number): number {
  const base = 0.9 * profile.hbmGB - profile.defaultWeightsGB - 5;
  const now = 0.9 * profile.hbmGB - residentWeightsGB - 5;
  return Math.max(0, Math.floor((profile.kvTokens * now) / base));
}
