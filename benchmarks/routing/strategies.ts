// What a run puts in the pool: a strategy preset (lib/scheduling/presets.ts), or a variant
// with an explicit scheduler profile, to show what a change of the preset would do.
import { STRATEGIES } from '../../lib/config/schema';
import { PRESETS } from '../../lib/scheduling/presets';

export interface Variant {
  name: string;
  strategy: string;
  scheduler?: Record<string, unknown>;
}

/** The prefix-affinity preset with some params of its scorer changed, as an explicit profile. */
const prefixWith = (name: string, params: Record<string, unknown>): Variant => ({
  name: `prefix-affinity:${name}`,
  strategy: 'prefix-affinity',
  scheduler: {
    ...PRESETS['prefix-affinity'],
    scorers: PRESETS['prefix-affinity'].scorers.map((s) => (typeof s !== 'string' && s.name === 'prefix-affinity' ? { ...s, params: { ...s.params, ...params } } : s)),
  },
});

/**
 * Variants of prefix-affinity, run them with --strategies: a prefix holder with 5 requests
 * waiting in its engine as scraped counts as saturated (`queue: scraped`; the preset leaves
 * the queue out), what a queue test does on a burst; its slowness test off (`slow_factor`
 * 0), what the slowness test does.
 */
export const VARIANTS: Variant[] = [
  ...STRATEGIES.map((s): Variant => ({ name: s, strategy: s })),
  prefixWith('queue-scraped', { queue: 'scraped' }),
  prefixWith('no-slow', { slow_factor: 0 }),
];

export const PRESET_NAMES: readonly string[] = STRATEGIES;

export function variant(name: string): Variant {
  const v = VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown strategy "${name}" (known: ${VARIANTS.map((x) => x.name).join(', ')})`);
  return v;
}
