// Reads the load signals of an inference engine from its Prometheus /metrics page. vLLM's
// names first, then SGLang's and TGI's where they differ, and the DCGM exporter's GPU
// utilisation where the page carries it. Several series of one metric (data-parallel
// engines, several GPUs, several models) are summed for counts and averaged for ratios.
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

const WANTED = new Set(SOURCES.flatMap((s) => s.names));
const FIRST_CHARS = new Set([...WANTED].map((n) => n.charCodeAt(0)));

export type EngineMetrics = Pick<BackendSignals, Field>;

/** The signals found in an exposition; a field the page does not carry is undefined. Throws on unparsable text. */
export function readEngineMetrics(text: string): EngineMetrics {
  const families = parsePrometheusTextFormat(wantedLines(text));
  const byName = new Map(families.map((f) => [f.name, f]));
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
  return out;
}

/**
 * The sample lines of the wanted metrics only. A vLLM page is ~100 KB, almost all of it
 * histogram buckets; handing the parser the few gauge lines we read makes a scrape of a
 * large fleet cheap. Comments go too: the parser does not need TYPE lines for gauges.
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

function aggregate(family: parsePrometheusTextFormat.MetricFamily | undefined, mean: boolean): number | undefined {
  let sum = 0;
  let count = 0;
  for (const m of family?.metrics ?? []) {
    const v = Number(m.value);
    if (!Number.isFinite(v)) continue;
    sum += v;
    count++;
  }
  if (count === 0) return undefined;
  return mean ? sum / count : sum;
}
