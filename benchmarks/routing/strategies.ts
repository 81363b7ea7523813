// What a run puts in the pool: a strategy preset (lib/scheduling/presets.ts), or a variant
// with an explicit scheduler profile, to show what a change of the preset would do.
import { STRATEGIES } from '../../lib/config/schema';
import { PRESETS } from '../../lib/scheduling/presets';

export interface Variant {
  name: string;
  strategy: string;
  scheduler?: Record<string, unknown>;
}

/**
 * prefix-affinity with its queue test off (the KV and in-flight tests stay): how much the
 * queue guard costs on a burst. Run it with --strategies.
 */
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

export const VARIANTS: Variant[] = [...STRATEGIES.map((s): Variant => ({ name: s, strategy: s })), noQueueGuard];

export const PRESET_NAMES: readonly string[] = STRATEGIES;

export function variant(name: string): Variant {
  const v = VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown strategy "${name}" (known: ${VARIANTS.map((x) => x.name).join(', ')})`);
  return v;
}
