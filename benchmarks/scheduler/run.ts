// Per-request cost of the scheduler, per strategy preset, at 8, 64 and 512 backends; plus
// the hashes it is built on (against node:crypto) and the /metrics parsing of a scrape.
// `npm run bench:scheduler`. Prints ns (or µs) per operation; lower is better.
import { createHash } from 'node:crypto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { STRATEGIES } from '../../lib/config/schema';
import { hash32, hash53 } from '../../lib/scheduling/hash';
import { createScheduler } from '../../lib/scheduling/index';
import { readEngineMetrics } from '../../lib/scheduling/signals/metrics';
import type { SchedulingRequest } from '../../lib/scheduling/types';
import { NOW, fleet, pool, seeded } from '../../test/unit/scheduling/fakes';

const SIZES = [8, 64, 512];
const RUN_MS = 150;

/** ns per call of `fn(i)`: the best of three timed runs after a warm-up (other load on the machine only adds). */
function measure(fn: (i: number) => void): number {
  run(fn, RUN_MS);
  return Math.min(run(fn, RUN_MS), run(fn, RUN_MS), run(fn, RUN_MS));
}

function run(fn: (i: number) => void, ms: number): number {
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < BigInt(ms * 1e6)) {
    for (let k = 0; k < 100; k++) fn(ops++);
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / ops;
}

function requests(n: number): SchedulingRequest[] {
  const system = '<|system|>\nYou are the support assistant of ACME. Be brief and precise.\n'.repeat(24); // ~1.7k chars
  const rnd = seeded(42);
  return Array.from({ length: n }, (_, i) => ({
    requestId: `r${i}`,
    priority: 'standard' as const,
    model: 'llama-3-8b',
    sessionKey: `user-${Math.floor(rnd() * 10_000)}`,
    promptText: `${system}<|user|>\nquestion ${Math.floor(rnd() * 50)}: ${'lorem ipsum '.repeat(16)}\n`,
  }));
}

function schedulerTable(): void {
  const reqs = requests(1024);
  console.log(`scheduler.schedule(), ns/op (prompt ${reqs[0]!.promptText!.length} chars)`);
  console.log(['strategy'.padEnd(18), ...SIZES.map((n) => `${n}`.padStart(10))].join(''));
  for (const strategy of STRATEGIES) {
    const row = [strategy.padEnd(18)];
    for (const n of SIZES) {
      const rnd = seeded(n);
      const bs = fleet(n, () => ({
        inflight: Math.floor(rnd() * 20),
        waiting: Math.floor(rnd() * 4),
        kvUsage: rnd() * 0.7,
        gpuUtil: rnd(),
        inflightAtScrape: 5,
        loadedModels: ['llama-3-8b'],
      }));
      const s = createScheduler('bench', pool({ strategy }), { clock: () => NOW });
      row.push(measure((i) => s.schedule(reqs[i & 1023]!, bs, false)).toFixed(0).padStart(10));
    }
    console.log(row.join(''));
  }
}

function hashTable(): void {
  const block = 'You are the support assistant of ACME. Be brief and precise. 0123'; // 64 chars
  const key = 'user-1234-session-abcd';
  console.log('\nhash, ns/op');
  const rows: [string, (i: number) => void][] = [
    ['hash53, 64-char prefix block', (i) => hash53(block, i)],
    ['sha1 (node:crypto), same block', () => createHash('sha1').update(block).digest()],
    ['hash32, 22-char session key', (i) => hash32(key, i)],
    ['md5 (node:crypto), same key', () => createHash('md5').update(key).digest()],
  ];
  for (const [name, fn] of rows) console.log(`${name.padEnd(34)}${measure(fn).toFixed(0).padStart(8)}`);
}

function metricsTable(): void {
  // A vLLM page's bulk: histograms with ~30 buckets per metric and label set.
  const lines: string[] = [];
  for (const h of ['time_to_first_token_seconds', 'inter_token_latency_seconds', 'e2e_request_latency_seconds', 'request_queue_time_seconds']) {
    lines.push(`# TYPE vllm:${h} histogram`);
    for (let b = 0; b < 30; b++) lines.push(`vllm:${h}_bucket{engine="0",le="${(b * 0.05).toFixed(2)}",model_name="llama-3-8b"} ${b * 17}.0`);
    lines.push(`vllm:${h}_sum{engine="0",model_name="llama-3-8b"} 123.4`, `vllm:${h}_count{engine="0",model_name="llama-3-8b"} 510.0`);
  }
  lines.push('vllm:num_requests_running{engine="0",model_name="llama-3-8b"} 12.0', 'vllm:num_requests_waiting{engine="0",model_name="llama-3-8b"} 3.0');
  lines.push('vllm:kv_cache_usage_perc{engine="0",model_name="llama-3-8b"} 0.41');
  const page = lines.join('\n').repeat(4) + '\n';
  console.log(`\n/metrics parsing, µs/op (page ${(page.length / 1024).toFixed(0)} KiB)`);
  console.log(`${'readEngineMetrics (wanted lines only)'.padEnd(40)}${(measure(() => readEngineMetrics(page)) / 1000).toFixed(1).padStart(8)}`);
  console.log(`${'parser on the whole page'.padEnd(40)}${(measure(() => parsePrometheusTextFormat(page)) / 1000).toFixed(1).padStart(8)}`);
}

schedulerTable();
hashTable();
metricsTable();
