// The printed tables: one per scenario (strategies side by side), then the targets.
import { fmt, formatTable } from '../common/table';
import type { Figures } from './measure';

/** results[scenario][strategy] */
export type Results = Record<string, Record<string, Figures>>;

export function scenarioTable(byStrategy: Record<string, Figures>, slowId?: string): string {
  const head = ['strategy', 'out tok/s', 'TTFT p50', 'p90', 'p99 (ms)', 'cache hits', 'max/mean req', ...(slowId ? ['slowed share'] : []), 'busy', 'failed', 'lag p99'];
  const rows = Object.entries(byStrategy).map(([name, f]) => [
    name,
    fmt(f.tokPerSec),
    fmt(f.ttftP50),
    fmt(f.ttftP90),
    fmt(f.ttftP99),
    `${fmt(f.hitRate * 100, 1)}%`,
    fmt(f.imbalance, 2),
    ...(slowId ? [`${fmt((f.shares[slowId] ?? 0) * 100, 1)}%`] : []),
    `${fmt(f.busy * 100)}%`,
    fmt(f.failed),
    fmt(f.clockLagP99),
  ]);
  return formatTable(head, rows);
}

interface Target {
  text: string;
  /** The measured figure as printed, and whether it meets the target; undefined when not run. */
  check(r: Results, slowId: string): { measured: string; pass: boolean } | undefined;
}

const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);

function against(scenario: string, subject: string, base: string, metric: keyof Figures, min: number, text: string): Target {
  return {
    text,
    check(r) {
      const x = ratio(r[scenario]?.[subject]?.[metric] as number, r[scenario]?.[base]?.[metric] as number);
      return x === undefined ? undefined : { measured: `${fmt(x, 2)}×`, pass: x >= min };
    },
  };
}

/** TTFT p90 of round-robin ÷ the strategy's: how many times lower. */
function lowerTtft(strategy: string): Target {
  return {
    text: `chat: ${strategy} TTFT p90 ≥ 3× lower than round-robin`,
    check(r) {
      const x = ratio(r.chat?.['round-robin']?.ttftP90, r.chat?.[strategy]?.ttftP90);
      return x === undefined ? undefined : { measured: `${fmt(x, 2)}× lower`, pass: x >= 3 };
    },
  };
}

/** Strategies that claim to be smarter than spreading: the no-prefix workload must not hurt them. */
const OURS = ['least-request', 'kv-aware', 'gpu-aware', 'session-affinity', 'prefix-affinity'];

function noWorseThanLeastQueue(metric: 'tokPerSec' | 'ttftP99'): Target {
  const label = metric === 'tokPerSec' ? 'throughput' : 'TTFT p99';
  return {
    text: `noprefix: ${label} of every other strategy of ours within 5% of least-queue`,
    check(r) {
      const base = r.noprefix?.['least-queue']?.[metric];
      const ran = OURS.filter((s) => r.noprefix?.[s]);
      if (base === undefined || ran.length === 0) return undefined;
      // "Worse" is lower throughput or higher TTFT; report the worst one.
      const worse = ran.map((s) => ({ s, x: metric === 'tokPerSec' ? base / r.noprefix![s]![metric] : r.noprefix![s]![metric] / base }));
      const worst = worse.reduce((a, b) => (b.x > a.x ? b : a));
      const again = r.noprefix?.['least-queue again']?.[metric];
      const noise = again === undefined ? '' : ` (least-queue again: ${fmt((Math.abs(again / base - 1)) * 100, 1)}% off)`;
      return { measured: `worst ${worst.s}: ${fmt((worst.x - 1) * 100, 1)}% worse${noise}`, pass: worst.x <= 1.05 };
    },
  };
}

function slowShare(strategy: string): Target {
  return {
    text: `slow: ${strategy} gives the 3×-slowed backend ≤ 1/16 of requests (half its fair 1/8)`,
    check(r, slowId) {
      const share = r.slow?.[strategy]?.shares[slowId];
      return share === undefined ? undefined : { measured: `${fmt(share * 100, 1)}%`, pass: share <= 1 / 16 };
    },
  };
}

export const TARGETS: Target[] = [
  against('w1', 'prefix-affinity', 'round-robin', 'hitRate', 2.5, 'w1: prefix-affinity cache hit rate ≥ 2.5× round-robin'),
  against('w1', 'prefix-affinity', 'round-robin', 'tokPerSec', 1.5, 'w1: prefix-affinity throughput ≥ 1.5× round-robin'),
  lowerTtft('prefix-affinity'),
  lowerTtft('session-affinity'),
  noWorseThanLeastQueue('tokPerSec'),
  noWorseThanLeastQueue('ttftP99'),
  slowShare('least-queue'),
  slowShare('prefix-affinity'),
];

export function targetTable(r: Results, slowId: string): string {
  const rows = TARGETS.map((t) => {
    const v = t.check(r, slowId);
    return [t.text, v?.measured ?? '—', v === undefined ? 'not run' : v.pass ? 'PASS' : 'MISS'];
  });
  return formatTable(['target', 'measured', 'verdict'], rows);
}
