// Entry point of the scheduling framework for the pools.
//
//   const scheduler = createScheduler('llama-blue', poolConfig);
//   const { backend, explain } = scheduler.schedule(req, availableBackends, explainOn);
//
// A pool's `scheduler:` block, when present, is its profile; otherwise the preset named by
// its `strategy`. Every profile starts with the retry filter `exclude`.
import type { PluginRef, PoolConfig } from '../config/schema';
import { ExcludeFilter } from './filters/exclude';
import { ParamError } from './params';
import { PRESETS } from './presets';
import { buildPlugin, normalizeRef, type PluginContext, type PluginKind } from './registry';
import { ProfileScheduler, type WeightedScorer } from './scheduler';
import type { Filter, Picker, Scheduler } from './types';

export type { BackendSignals, BackendView, Decision, Scheduler, SchedulingRequest } from './types';
export { ExplainLog, type ExplainRecord } from './explain';
export { SignalScraper, type ScrapeTarget } from './signals/scraper';
export { PRESETS } from './presets';

export interface SchedulerOptions {
  /** Uniform in [0,1) for the random pickers; default Math.random. */
  random?: () => number;
  /** Wall-clock ms, compared with BackendSignals.updatedAt; default Date.now. */
  clock?: () => number;
}

/** A problem in a pool's scheduling config; `path` is relative to the pool. */
export interface SchedulerProblem {
  path: (string | number)[];
  message: string;
}

/** Builds the pool's scheduler. Throws an Error naming the pool and the first problem. */
export function createScheduler(poolName: string, pool: PoolConfig, opts: SchedulerOptions = {}): Scheduler {
  const problems: SchedulerProblem[] = [];
  const scheduler = build(poolName, pool, opts, problems);
  if (scheduler === undefined) {
    const p = problems[0]!;
    throw new Error(`pool "${poolName}": ${p.path.join('.')}: ${p.message}`);
  }
  return scheduler;
}

/** Every problem with the pool's `scheduler` block (unknown names, bad params); [] if none. */
export function validateSchedulerConfig(pool: PoolConfig): SchedulerProblem[] {
  const problems: SchedulerProblem[] = [];
  build('', pool, {}, problems);
  return problems;
}

function build(poolName: string, pool: PoolConfig, opts: SchedulerOptions, problems: SchedulerProblem[]): Scheduler | undefined {
  const ctx: PluginContext = { poolName, pool, random: opts.random ?? Math.random };
  const cfg = pool.scheduler ?? PRESETS[pool.strategy];
  const make = <K extends PluginKind>(kind: K, ref: PluginRef, path: (string | number)[]) => {
    try {
      return buildPlugin(kind, ref, ctx);
    } catch (err) {
      // Presets are fixed, so a preset can only fail on pool-level values (e.g. session).
      const at = !pool.scheduler ? ['strategy'] : typeof ref === 'string' ? path : err instanceof ParamError ? [...path, 'params', err.key] : [...path, 'name'];
      problems.push({ path: at, message: (err as Error).message });
      return undefined;
    }
  };
  const filters: Filter[] = [new ExcludeFilter()];
  cfg.filters.forEach((ref, i) => {
    const f = make('filter', ref, ['scheduler', 'filters', i]);
    if (f) filters.push(f);
  });
  const scorers: WeightedScorer[] = [];
  cfg.scorers.forEach((ref, i) => {
    const s = make('scorer', ref, ['scheduler', 'scorers', i]);
    if (s) scorers.push({ scorer: s, weight: normalizeRef(ref).weight });
  });
  const picker: Picker | undefined = make('picker', cfg.picker, ['scheduler', 'picker']);
  if (problems.length > 0 || picker === undefined) return undefined;
  return new ProfileScheduler({ name: pool.scheduler ? 'custom' : pool.strategy, filters, scorers, picker }, opts.clock);
}
