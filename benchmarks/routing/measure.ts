// One measured run: a workload through Switchyard with one strategy, turned into figures.
// Client times are real ms; dividing by the time scale gives model ms. The prefix-cache hit
// rate comes from the simulators' own token counters (after − before), the load imbalance
// from the `x-sim-backend` header of each answer.
import { writeFileSync } from 'node:fs';
import { percentile } from '../common/stats';
import { drive, LoadClient, type DriveLimits, type Pace, type Sample } from './client';
import type { SimState } from '../../lib/sim';
import type { FleetBackend } from './fleet';
import { getJson, startSwitchyard, type DaemonKnobs } from './switchyard';
import { MODEL, type Workload } from './workloads';

type SimCounters = Pick<SimState, 'model_time_ms' | 'clock'> & {
  counters: Pick<SimState['counters'], 'prefix_cache_queries' | 'prefix_cache_hits' | 'busy_ms'>;
};

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
  /** Mean share of model time the backends spent in engine steps, 0..1 (continuous batching: busy is not saturated). */
  busy: number;
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

/** A fresh daemon and client: open connections and warm the JIT, so the first measured requests are not the slowest. */
async function warmUp(client: LoadClient): Promise<void> {
  const tiny = { body: { model: MODEL, messages: [{ role: 'user', content: 'warm up' }], max_tokens: 1, stream: true }, headers: {} };
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 64 }, () => client.send(tiny, false)));
}

function fail(message: string): never {
  throw new Error(message);
}

/** `dump`: a file to write every sample to (JSON), for a closer look. */
export async function measure(backends: FleetBackend[], daemon: DaemonKnobs, spec: RunSpec, dir: string, connections: number, dump?: string): Promise<Figures> {
  const sy = await startSwitchyard(backends, daemon, dir);
  const client = new LoadClient(sy.origin, connections);
  try {
    await warmUp(client);
    const before = await counters(backends);
    const samples = await drive(client, spec.workload, spec.pace, spec.limits);
    if (dump) writeFileSync(dump, JSON.stringify(samples));
    const after = await counters(backends);
    return figures(samples, before, after, backends, daemon.timeScale, spec.warmupMs ?? 0, spec.pace.kind === 'closed');
  } finally {
    await client.close();
    await sy.stop();
  }
}

/**
 * Throughput. Closed loop: the output of the answers that ended between the warm-up and the
 * last start, over that window (steady concurrency, without the drain at the end). Burst
 * and open loop: the output of the requests sent after the warm-up, over the time from then
 * to the last of their answers (a burst's makespan; for Poisson arrivals, a fleet that
 * falls behind takes longer to serve the same requests).
 */
function throughput(samples: Sample[], warmupMs: number, closed: boolean): { tokens: number; requests: number; ms: number } {
  const ends = (s: Sample) => s.start + s.e2e;
  const sum = (list: Sample[]) => list.reduce((n, s) => n + s.outputTokens, 0);
  if (closed) {
    const last = Math.max(...samples.map((s) => s.start));
    const inside = samples.filter((s) => ends(s) >= warmupMs && ends(s) <= last);
    return { tokens: sum(inside), requests: inside.length, ms: last - warmupMs };
  }
  const cohort = samples.filter((s) => s.start >= warmupMs);
  const from = Math.min(...cohort.map((s) => s.start));
  return { tokens: sum(cohort), requests: cohort.length, ms: Math.max(...cohort.map(ends)) - from };
}

function figures(all: Sample[], before: SimCounters[], after: SimCounters[], backends: FleetBackend[], timeScale: number, warmupMs: number, closed: boolean): Figures {
  const ok = all.filter((s) => !s.error);
  const counted = ok.filter((s) => s.start >= warmupMs);
  const ttft = counted.map((s) => s.ttft / timeScale);
  const done = throughput(ok, warmupMs, closed);
  const modelSeconds = done.ms / timeScale / 1000;
  const delta = (get: (c: SimCounters) => number) => after.reduce((n, a, i) => n + get(a) - get(before[i]!), 0);
  const queries = delta((c) => c.counters.prefix_cache_queries);
  const hits = delta((c) => c.counters.prefix_cache_hits);
  const busyMs = delta((c) => c.counters.busy_ms);
  const perBackend = new Map<string, number>(backends.map((b) => [b.id, 0]));
  for (const s of ok) perBackend.set(s.backend, (perBackend.get(s.backend) ?? 0) + 1);
  const mean = ok.length / backends.length;
  return {
    requests: all.length,
    failed: all.length - ok.length,
    tokPerSec: done.tokens / modelSeconds,
    reqPerSec: done.requests / modelSeconds,
    ttftP50: percentile(ttft, 50),
    ttftP90: percentile(ttft, 90),
    ttftP99: percentile(ttft, 99),
    hitRate: queries > 0 ? hits / queries : NaN,
    imbalance: Math.max(...perBackend.values()) / mean,
    shares: Object.fromEntries([...perBackend].map(([id, n]) => [id, n / Math.max(1, ok.length)])),
    busy: busyMs / delta((c) => c.model_time_ms),
    clockLagP99: Math.max(...after.map((a) => a.clock.p99)),
    firstError: all.find((s) => s.error)?.error,
  };
}
