// --profile: Switchyard and the bare proxy run one scenario under `node --cpu-prof`; this
// puts where each spends its CPU side by side, per request (or event), and lists
// Switchyard's own functions in lib/ by inclusive time.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { areaShares, hotSpots, hotSpotTable, readProfile, type HotSpot } from '../common/cpuprofile';
import { fmt, formatTable } from '../common/table';
import type { Samples } from './samples';
import type { Scenario } from './scenarios';
import { profileFolder } from './setups/setup';

const LIB = relative(process.cwd(), join(__dirname, '../../lib')) + '/';

function spotsOf(root: string, setup: string): HotSpot[] | undefined {
  const dir = profileFolder(root, setup);
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  return file ? hotSpots(readProfile(join(dir, file))) : undefined;
}

/**
 * Areas (packages, node internals, native calls, GC, lib folders) in µs per unit of work:
 * each area's share of a profile × the CPU per unit the scenario measured for that setup.
 * The profiles cover start-up and warm-up too, a small part of their time.
 */
export function profileReport(root: string, setups: string[], scenario: Scenario, samples: Samples, top = 15): string {
  const cpu = scenario.metrics.find((m) => m.key === 'cpu')!;
  const profiled = setups.flatMap((name) => {
    const spots = spotsOf(root, name);
    return spots ? [{ name, spots, areas: areaShares(spots), perUnit: samples.median(scenario.name, name, 'cpu') }] : [];
  });
  if (profiled.length === 0) return `No profile under ${root}: did the processes exit cleanly on SIGTERM?`;
  const [first] = profiled;
  const areas = [...first.areas.keys()].sort((a, b) => first.areas.get(b)! - first.areas.get(a)!).slice(0, top);
  const rows = areas.map((a) => [a, ...profiled.map((p) => fmt((p.areas.get(a) ?? 0) * p.perUnit, 1))]);
  const byArea = formatTable(['area (self time)', ...profiled.map((p) => `${p.name} ${cpu.label.replace('proxy ', '')}`)], rows);
  const ours = first.spots.filter((s) => s.where.startsWith(LIB));
  return `${scenario.name}: where the CPU goes\n\n${byArea}\n\n${first.name}'s functions in lib/ (% of its busy time)\n\n${hotSpotTable(ours, top, 'total')}`;
}
