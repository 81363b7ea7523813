// Hot spots of a V8 CPU profile (node --cpu-prof): self time per area (a package, node's
// internals, GC, a folder of the project) and self and inclusive time per function.
//   node dist/benchmarks/common/cpuprofile.js FILE.cpuprofile [FILTER] [TOP]
// FILTER keeps functions whose script path contains it (e.g. dist/lib/ for the project's own).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fmt, formatTable } from './table';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  fn: string;
  where: string;
  /** Shares of the busy time (samples other than (idle)), 0..1. */
  self: number;
  total: number;
}

const keyOf = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'}\t${relative(process.cwd(), n.callFrame.url.replace(/^file:\/\//, ''))}:${n.callFrame.lineNumber + 1}`;

/** The package, node's internals, a native function or V8 pseudo-frame such as
 * (garbage collector), or the project's folder. */
function areaOf(spot: HotSpot): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(spot.where);
  if (pkg) return pkg[1];
  if (spot.where.startsWith('node:')) return 'node internals';
  if (spot.where.startsWith(':')) return spot.fn; // no script: writev, (program), (garbage collector)
  return spot.where.split('/').slice(0, -1).join('/');
}

export function readProfile(file: string): Profile {
  return JSON.parse(readFileSync(file, 'utf8')) as Profile;
}

export function hotSpots(profile: Profile, filter = ''): HotSpot[] {
  const key = new Map(profile.nodes.map((n) => [n.id, keyOf(n)]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    if (key.get(id)!.startsWith('(idle)')) return;
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    self.set(key.get(id)!, (self.get(key.get(id)!) ?? 0) + dt);
    // Inclusive time: once per function on the stack, however deep the recursion.
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) seen.add(key.get(n)!);
    for (const k of seen) total.set(k, (total.get(k) ?? 0) + dt);
  });
  return [...total.entries()]
    .filter(([k]) => k.includes(filter))
    .map(([k, t]) => {
      const [fn, where] = k.split('\t');
      return { fn, where, self: (self.get(k) ?? 0) / all, total: t / all };
    });
}

/** Self time per area, as shares of the busy time. */
export function areaShares(spots: HotSpot[]): Map<string, number> {
  const areas = new Map<string, number>();
  for (const s of spots) areas.set(areaOf(s), (areas.get(areaOf(s)) ?? 0) + s.self);
  return areas;
}

export function areaTable(spots: HotSpot[], top: number): string {
  const rows = [...areaShares(spots)].sort((a, b) => b[1] - a[1]).slice(0, top);
  return formatTable(['area', 'self %'], rows.map(([area, self]) => [area, fmt(self * 100, 1)]));
}

export function hotSpotTable(spots: HotSpot[], top: number, by: 'self' | 'total'): string {
  const rows = [...spots]
    .sort((a, b) => b[by] - a[by])
    .slice(0, top)
    .map((s) => [s.fn, s.where, fmt(s.self * 100, 1), fmt(s.total * 100, 1)]);
  return formatTable(['function', 'where', 'self %', 'total %'], rows);
}

if (require.main === module) {
  const [file, filter = '', top = '20'] = process.argv.slice(2);
  const profile = readProfile(file);
  console.log('Self time by area:\n' + areaTable(hotSpots(profile), Number(top)));
  const spots = hotSpots(profile, filter);
  console.log('\nBy self time:\n' + hotSpotTable(spots, Number(top), 'self'));
  console.log('\nBy inclusive time:\n' + hotSpotTable(spots, Number(top), 'total'));
}
