// The targets for Switchyard, checked against one run's figures.
import { median, percentile } from '../common/stats';
import type { Samples } from './samples';
import type { Scenario } from './scenarios';
import { bare, bareInDaemon } from './setups/bare';
import { haproxy } from './setups/haproxy';
import { nginx } from './setups/nginx';
import { switchyard, switchyardNoLog } from './setups/switchyard';

interface Goal {
  text: string;
  scenario: string;
  metric: string;
  /** Compare with this setup's figure (a ratio), or else with the bound itself. */
  relativeTo?: string;
  min?: number;
  max?: number;
}

export const GOALS: Goal[] = [
  { text: 'SSE events/s ≥ 1.0× HAProxy', scenario: 'sse-64', metric: 'eps', relativeTo: haproxy.name, min: 1 },
  { text: 'SSE events/s ≥ 0.95× bare Node', scenario: 'sse-64', metric: 'eps', relativeTo: bare.name, min: 0.95 },
  { text: 'SSE first byte p50 ≤ bare Node', scenario: 'sse-64', metric: 'ttfb50', relativeTo: bare.name, max: 1 },
  { text: 'SSE first byte p99 ≤ bare Node', scenario: 'sse-64', metric: 'ttfb99', relativeTo: bare.name, max: 1 },
  { text: 'SSE first byte p50 ≤ bare Node (burst)', scenario: 'sse-burst-64', metric: 'ttfb50', relativeTo: bare.name, max: 1 },
  { text: 'SSE first byte p99 ≤ bare Node (burst)', scenario: 'sse-burst-64', metric: 'ttfb99', relativeTo: bare.name, max: 1 },
  { text: 'CPU/request ≤ 1.15× bare Node (64 conns)', scenario: 'small-64', metric: 'cpu', relativeTo: bare.name, max: 1.15 },
  { text: 'CPU/request ≤ 1.15× bare Node (256 conns)', scenario: 'small-256', metric: 'cpu', relativeTo: bare.name, max: 1.15 },
  { text: 'RSS per idle connection ≤ 20 KiB', scenario: 'idle-1000', metric: 'kib', max: 20 },
];

/**
 * PASS or FAIL when the middle half of the rounds agrees (their 25th and 75th percentile
 * are on the same side of the target); 'within noise' when the target lies between them:
 * this run cannot tell, whatever side its median fell on (its median is still shown).
 */
export type Outcome = 'PASS' | 'FAIL' | 'within noise';

export interface Verdict {
  goal: Goal;
  /** Switchyard's figure, or its ratio to the reference setup: the median over the rounds. */
  measured?: number;
  /** The 25th and 75th percentile of the per-round figures (or ratios). */
  spread?: [number, number];
  outcome?: Outcome;
  /** Why it could not be checked. */
  skipped?: string;
}

export function check(goal: Goal, samples: Samples): Verdict {
  if (!samples.has(goal.scenario, switchyard.name)) return { goal, skipped: `no ${switchyard.name} figure` };
  if (goal.relativeTo && !samples.has(goal.scenario, goal.relativeTo)) return { goal, skipped: `no ${goal.relativeTo} figure` };
  const perRound = goal.relativeTo
    ? samples.ratios(goal.scenario, switchyard.name, goal.relativeTo, goal.metric)
    : samples.values(goal.scenario, switchyard.name, goal.metric);
  const spread: [number, number] = [percentile(perRound, 25), percentile(perRound, 75)];
  const meets = (x: number) => (goal.min === undefined || x >= goal.min) && (goal.max === undefined || x <= goal.max);
  const outcome: Outcome = meets(spread[0]) && meets(spread[1]) ? 'PASS' : !meets(spread[0]) && !meets(spread[1]) ? 'FAIL' : 'within noise';
  return { goal, measured: median(perRound), spread, outcome };
}

/** The ratios printed after the tables: [numerator, denominator] setup names. */
export const RATIOS: [string, string][] = [
  [switchyard.name, bare.name],
  [switchyardNoLog.name, bare.name],
  [bareInDaemon.name, bare.name],
  [switchyard.name, bareInDaemon.name],
  [switchyard.name, haproxy.name],
  [switchyard.name, nginx.name],
  [bare.name, haproxy.name],
];

/** Metrics worth a ratio: all but the failure counts. */
export const ratioMetrics = (scenario: Scenario) => scenario.metrics.filter((m) => m.key !== 'failed');
