// What a run puts in the pool: a strategy preset (lib/scheduling/presets.ts), or a variant
// with an explicit scheduler profile, to show what a change of the preset would do.
import { STRATEGIES } from '../../lib/config/schema';
import { PRESETS } from '../../lib/scheduling/presets';

export interface Variant {
  name: string;
  strategy: string;
  scheduler?: Record<string, unknown>;
}

/** prefix-affinity with its saturation test on the queue turned off (the KV and in-flight tests stay). */
const noQueueGuard: Variant = {
  name: 'prefix-affinity:no-queue-guard',
  strategy: 'prefix-affinity',
  scheduler: {
    ...PRESETS['prefix-affinity'],
    scorers: PRESETS['prefix-affinity'].scorers.map((s) =>
      typeof s !== 'string' && s.name === 'prefix-affinity' ? { ...s, params: { ...s.params, queue_threshold: 1e9 } } : s,
    ),
  },
};

/** session-affinity with a bounded-load factor of 2 instead of the pool default 1.25. */
const looseBound: Variant = {
  name: 'session-affinity:load-factor-2',
  strategy: 'session-affinity',
  scheduler: {
    ...PRESETS['session-affinity'],
    scorers: PRESETS['session-affinity'].scorers.map((s) =>
      typeof s !== 'string' && s.name === 'session-affinity' ? { ...s, params: { ...s.params, load_factor: 2 } } : s,
    ),
  },
};

export const VARIANTS: Variant[] = [...STRATEGIES.map((s): Variant => ({ name: s, strategy: s })), noQueueGuard, looseBound];

export const PRESET_NAMES: readonly string[] = STRATEGIES;

export function variant(name: string): Variant {
  const v = VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown strategy "${name}" (known: ${VARIANTS.map((x) => x.name).join(', ')})`);
  return v;
}
