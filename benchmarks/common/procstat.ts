// CPU time and resident memory of a process and everything it started, read from /proc.
// Summing the tree matters for proxies with a master and workers (nginx); a process's
// own utime/stime already includes all of its threads (libuv pool, GC helpers).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

function getconf(name: string, fallback: number): number {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' })) || fallback;
  } catch {
    return fallback;
  }
}

const MICROS_PER_TICK = 1e6 / getconf('CLK_TCK', 100);
const PAGE_BYTES = getconf('PAGESIZE', 4096);

interface Stat {
  ppid: number;
  cpuTicks: number;
  rssPages: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name may hold spaces and ")": the fixed fields start after the last ")".
  // Field numbers (proc(5)): 4 ppid, 14 utime, 15 stime, 24 rss; `f` starts at field 3.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) };
}

/** `pid` and all its living descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

function sumTree(pid: number, pick: (s: Stat) => number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    const stat = readStat(p);
    if (stat) total += pick(stat);
  }
  return total;
}

/** User plus system CPU time of the tree, in microseconds (resolution: one clock tick). */
export function cpuMicros(pid: number): number {
  return sumTree(pid, (s) => s.cpuTicks) * MICROS_PER_TICK;
}

/** Resident set size of the tree, in bytes. */
export function rssBytes(pid: number): number {
  return sumTree(pid, (s) => s.rssPages) * PAGE_BYTES;
}
