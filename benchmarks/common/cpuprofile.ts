// Hot spots of a V8 CPU profile (node --cpu-prof): self and inclusive time per function.
//   node dist/benchmarks/common/cpuprofile.js FILE.cpuprofile [FILTER] [TOP]
// FILTER keeps functions whose script path contains it (e.g. /lib/ for the project's own).
import { readFileSync } from 'node:fs';
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
  /** Shares of all sampled time, 0..1. */
  self: number;
  total: number;
}

const keyOf = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'}\t${n.callFrame.url.replace(/^file:\/\//, '')}:${n.callFrame.lineNumber + 1}`;

export function hotSpots(profile: Profile, filter = ''): HotSpot[] {
  const key = new Map(profile.nodes.map((n) => [n.id, keyOf(n)]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
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

export function hotSpotTable(spots: HotSpot[], top: number, by: 'self' | 'total'): string {
  const rows = [...spots]
    .sort((a, b) => b[by] - a[by])
    .slice(0, top)
    .map((s) => [s.fn, s.where, fmt(s.self * 100, 1), fmt(s.total * 100, 1)]);
  return formatTable(['function', 'where', 'self %', 'total %'], rows);
}

if (require.main === module) {
  const [file, filter = '', top = '20'] = process.argv.slice(2);
  const spots = hotSpots(JSON.parse(readFileSync(file, 'utf8')) as Profile, filter);
  console.log('By self time:\n' + hotSpotTable(spots, Number(top), 'self'));
  console.log('\nBy inclusive time:\n' + hotSpotTable(spots, Number(top), 'total'));
}
