// The printed tables: one per scenario (setups side by side), the ratios, the goals.
import { fmt, formatTable } from '../common/table';
import { check, GOALS, RATIOS, ratioMetrics } from './goals';
import type { Samples } from './samples';
import type { Scenario } from './scenarios';

/** Medians over the rounds, setups side by side. */
export function scenarioTable(scenario: Scenario, setups: string[], samples: Samples): string {
  const rows = scenario.metrics.map((m) => [m.label, ...setups.map((s) => fmt(samples.median(scenario.name, s, m.key), m.decimals))]);
  return formatTable(['metric', ...setups], rows);
}

/** The ratios between the setups that ran; '' when no pair did. */
export function ratioTable(scenarios: Scenario[], samples: Samples): string {
  const pairs = RATIOS.filter(([a, b]) => scenarios.some((s) => samples.has(s.name, a) && samples.has(s.name, b)));
  if (pairs.length === 0) return '';
  const rows = scenarios.flatMap((s) =>
    ratioMetrics(s).map((m) => [
      `${s.name} ${m.label}`,
      ...pairs.map(([a, b]) => fmt(samples.ratio(s.name, a, b, m.key), 2)),
    ]),
  );
  return formatTable(['metric', ...pairs.map(([a, b]) => `${a} ÷ ${b}`)], rows);
}

export function goalTable(samples: Samples): string {
  const rows = GOALS.filter((goal) => samples.has(goal.scenario)).map((goal) => {
    const v = check(goal, samples);
    const show = (x: number) => (goal.relativeTo ? `${fmt(x, 3)}×` : fmt(x, 1));
    const measured = v.measured === undefined ? '—' : show(v.measured);
    const spread = v.spread === undefined ? '—' : v.spread[0] === v.spread[1] ? show(v.spread[0]) : `${show(v.spread[0])} – ${show(v.spread[1])}`;
    return [goal.text, measured, spread, v.skipped ? `skipped: ${v.skipped}` : v.outcome!];
  });
  return formatTable(['Switchyard target', 'measured (median)', 'rounds 25–75%', 'verdict'], rows);
}
