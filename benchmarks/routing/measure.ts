// One measured run: a workload through Switchyard with one strategy, turned into figures.
// Client times are real ms; dividing by the time scale gives model ms. The prefix-cache hit
// rate comes from the simulators' own token counters (after − before), the load imbalance
// from the `x-sim-backend` header of each answer.
import { percentile } from '../common/stats';
import { drive, LoadClient, type DriveLimits, type Pace, type Sample } from './client';
import type { FleetBackend } from './fleet';
import { getJson, startSwitchyard, type DaemonKnobs } from './switchyard';
import type { Workload } from './workloads';

interface SimCounters {
  counters: { prefix_cache_queries: number; prefix_cache_hits: number; generation_tokens: number };
  clock: { p99: number; max: number };
}

export interface Figures {
  requests: number;
  failed: number;
  /** Output tokens per model second, from the first request to the last answer. */
  tokPerSec: number;
  /** Requests per model second. */
  reqPerSec: number;
  /** Model ms. */
  ttftP50: number;
  ttftP90: number;
  ttftP99: number;
  /** Share of prompt tokens served from the fleet's prefix caches, 0..1. */
  hitRate: number;
  /** Busiest backend's requests ÷ the mean per backend. */
  imbalance: number;
  /** Share of the requests answered by each backend, by id. */
  shares: Record<string, number>;
  /** Worst p99 of the simulators' timer lag (real ms) over the run: how true their clock stayed. */
  clockLagP99: number;
  firstError?: string;
}

export interface RunSpec {
  workload: Workload;
  pace: Pace;
  limits: DriveLimits;
  /** Samples that started before this many real ms are left out of latency and throughput. */
  warmupMs?: number;
}

async function counters(backends: FleetBackend[]): Promise<SimCounters[]> {
  const states = await Promise.all(backends.map((b) => getJson<SimCounters>(`${b.url}/sim/state`)));
  return states.map((s, i) => s ?? fail(`no /sim/state from ${backends[i]!.id}`));
}

function fail(message: string): never {
  throw new Error(message);
}

export async function measure(backends: FleetBackend[], daemon: DaemonKnobs, spec: RunSpec, dir: string, connections: number): Promise<Figures> {
  const sy = await startSwitchyard(backends, daemon, dir);
  const client = new LoadClient(sy.origin, connections);
  try {
    const before = await counters(backends);
    const samples = await drive(client, spec.workload, spec.pace, spec.limits);
    const after = await counters(backends);
    return figures(samples, before, after, backends, daemon.timeScale, spec.warmupMs ?? 0);
  } finally {
    await client.close();
    await sy.stop();
  }
}

function figures(all: Sample[], before: SimCounters[], after: SimCounters[], backends: FleetBackend[], timeScale: number, warmupMs: number): Figures {
  const ok = all.filter((s) => !s.error);
  const counted = ok.filter((s) => s.start >= warmupMs);
  const ttft = counted.map((s) => s.ttft / timeScale);
  const end = Math.max(...counted.map((s) => s.start + s.e2e));
  const begin = Math.min(...counted.map((s) => s.start));
  const modelSeconds = (end - begin) / timeScale / 1000;
  const output = counted.reduce((n, s) => n + s.outputTokens, 0);
  let queries = 0;
  let hits = 0;
  for (let i = 0; i < backends.length; i++) {
    queries += after[i]!.counters.prefix_cache_queries - before[i]!.counters.prefix_cache_queries;
    hits += after[i]!.counters.prefix_cache_hits - before[i]!.counters.prefix_cache_hits;
  }
  const perBackend = new Map<string, number>(backends.map((b) => [b.id, 0]));
  for (const s of ok) perBackend.set(s.backend, (perBackend.get(s.backend) ?? 0) + 1);
  const mean = ok.length / backends.length;
  return {
    requests: all.length,
    failed: all.length - ok.length,
    tokPerSec: output / modelSeconds,
    reqPerSec: counted.length / modelSeconds,
    ttftP50: percentile(ttft, 50),
    ttftP90: percentile(ttft, 90),
    ttftP99: percentile(ttft, 99),
    hitRate: queries > 0 ? hits / queries : NaN,
    imbalance: Math.max(...perBackend.values()) / mean,
    shares: Object.fromEntries([...perBackend].map(([id, n]) => [id, n / Math.max(1, ok.length)])),
    clockLagP99: Math.max(...after.map((a) => a.clock.p99)),
    firstError: all.find((s) => s.error)?.error,
  };
}
