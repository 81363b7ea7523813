// Reads the load signals of an inference engine from its Prometheus /metrics page. vLLM's
// names first, then SGLang's and TGI's where they differ, and the DCGM exporter's GPU
// utilisation where the page carries it. Several series of one metric (data-parallel
// engines, several GPUs, several models) are summed for counts and averaged for ratios.
// Of the per-token latency histogram only `_sum` and `_count` are read (cumulative, summed
// over series); the scraper turns their deltas into BackendSignals.itl.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { BackendSignals } from '../types';

type Field = 'running' | 'waiting' | 'kvUsage' | 'gpuUtil';

interface Source {
  field: Field;
  /** Candidates in order of preference; the first present wins. */
  names: readonly string[];
  mean: boolean;
  scale: number;
}

const SOURCES: readonly Source[] = [
  { field: 'running', names: ['vllm:num_requests_running', 'sglang:num_running_reqs', 'tgi_batch_current_size'], mean: false, scale: 1 },
  { field: 'waiting', names: ['vllm:num_requests_waiting', 'sglang:num_queue_reqs', 'tgi_queue_size'], mean: false, scale: 1 },
  // vllm:gpu_cache_usage_perc is the pre-V1 name of kv_cache_usage_perc.
  { field: 'kvUsage', names: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage'], mean: true, scale: 1 },
  { field: 'gpuUtil', names: ['DCGM_FI_DEV_GPU_UTIL'], mean: true, scale: 0.01 },
];

/**
 * Histograms of the time between two tokens of a request, in order of preference (seconds).
 * vLLM's per-token inter-token latency; its pre-0.11 time per output token; SGLang's two
 * names; TGI's per-request mean time per token (the closest it exports).
 */
const ITL_HISTOGRAMS = [
  'vllm:inter_token_latency_seconds',
  'vllm:time_per_output_token_seconds',
  'sglang:inter_token_latency_seconds',
  'sglang:time_per_output_token_seconds',
  'tgi_request_mean_time_per_token_duration',
];

const WANTED = new Set([...SOURCES.flatMap((s) => s.names), ...ITL_HISTOGRAMS.flatMap((h) => [`${h}_sum`, `${h}_count`])]);
const FIRST_CHARS = new Set([...WANTED].map((n) => n.charCodeAt(0)));

export type EngineMetrics = Pick<BackendSignals, Field> & {
  /** Cumulative `_sum` (seconds) and `_count` (gaps) of the first ITL histogram the page has. */
  itlSum?: number;
  itlCount?: number;
};

type Sample = parsePrometheusTextFormat.Sample;

/** The signals found in an exposition; a field the page does not carry is undefined. Throws on unparsable text. */
export function readEngineMetrics(text: string): EngineMetrics {
  // One name may come back as several families: with the comments gone, the series of a
  // histogram's label sets are no longer contiguous (…_sum{a} …_count{a} …_sum{b}).
  const byName = new Map<string, Sample[]>();
  for (const f of parsePrometheusTextFormat(wantedLines(text))) {
    const list = byName.get(f.name);
    if (list === undefined) byName.set(f.name, [...f.metrics]);
    else list.push(...f.metrics);
  }
  const out: EngineMetrics = {};
  for (const src of SOURCES) {
    for (const name of src.names) {
      const v = aggregate(byName.get(name), src.mean);
      if (v !== undefined) {
        out[src.field] = v * src.scale;
        break;
      }
    }
  }
  for (const h of ITL_HISTOGRAMS) {
    const sum = aggregate(byName.get(`${h}_sum`), false);
    const count = aggregate(byName.get(`${h}_count`), false);
    if (sum !== undefined && count !== undefined) {
      out.itlSum = sum;
      out.itlCount = count;
      break;
    }
  }
  return out;
}

/**
 * The sample lines of the wanted metrics only. A vLLM page is ~100 KB, almost all of it
 * histogram buckets; handing the parser the few gauge lines (and one histogram's `_sum`
 * and `_count`) we read makes a scrape of a large fleet cheap. Comments go too: without
 * TYPE lines every kept line reads as an untyped sample of its own name.
 */
function wantedLines(text: string): string {
  const kept: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    if (FIRST_CHARS.has(text.charCodeAt(pos))) {
      let nameEnd = pos;
      while (nameEnd < end && text[nameEnd] !== '{' && text[nameEnd] !== ' ') nameEnd++;
      if (WANTED.has(text.slice(pos, nameEnd))) kept.push(text.slice(pos, end));
    }
    pos = end + 1;
  }
  return kept.join('\n') + '\n'; // the parser drops a last line without its newline
}

function aggregate(samples: readonly Sample[] | undefined, mean: boolean): number | undefined {
  let sum = 0;
  let count = 0;
  for (const m of samples ?? []) {
    const v = Number(m.value);
    if (!Number.isFinite(v)) continue;
    sum += v;
    count++;
  }
  if (count === 0) return undefined;
  return mean ? sum / count : sum;
}
