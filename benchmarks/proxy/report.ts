// The printed tables: one per scenario (setups side by side), the ratios, the goals.
import { fmt, formatTable } from '../common/table';
import { check, GOALS, RATIOS, ratioMetrics, type Figures } from './goals';
import type { Scenario } from './scenarios';

export function scenarioTable(scenario: Scenario, setups: string[], figures: Figures): string {
  const bySetup = figures[scenario.name] ?? {};
  const rows = scenario.metrics.map((m) => [m.label, ...setups.map((s) => fmt(bySetup[s]?.[m.key] ?? NaN, m.decimals))]);
  return formatTable(['metric', ...setups], rows);
}

/** The ratios between the setups that ran; '' when no pair did. */
export function ratioTable(scenarios: Scenario[], figures: Figures): string {
  const pairs = RATIOS.filter(([a, b]) => scenarios.some((s) => figures[s.name]?.[a] && figures[s.name]?.[b]));
  if (pairs.length === 0) return '';
  const rows = scenarios.flatMap((s) =>
    ratioMetrics(s).map((m) => [
      `${s.name} ${m.label}`,
      ...pairs.map(([a, b]) => fmt((figures[s.name]?.[a]?.[m.key] ?? NaN) / (figures[s.name]?.[b]?.[m.key] ?? NaN), 2)),
    ]),
  );
  return formatTable(['metric', ...pairs.map(([a, b]) => `${a} ÷ ${b}`)], rows);
}

export function goalTable(figures: Figures): string {
  const rows = GOALS.filter((goal) => figures[goal.scenario]).map((goal) => {
    const v = check(goal, figures);
    const measured = v.measured === undefined ? '—' : goal.relativeTo ? `${fmt(v.measured, 2)}×` : fmt(v.measured, 1);
    return [goal.text, measured, v.skipped ? `skipped: ${v.skipped}` : v.pass ? 'PASS' : 'FAIL'];
  });
  return formatTable(['Switchyard target', 'measured', 'verdict'], rows);
}
