import t from 'tap';
import { readEngineMetrics } from '../../../../lib/scheduling/signals/metrics';
import { SGLANG, TGI, VLLM } from './fixtures';

const DCGM = `DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 80
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} 40
`;

/** A histogram as vLLM writes it, for two models: buckets, count and sum per label set. */
const ITL = (name: string) => `# HELP ${name} Histogram of inter-token latency in seconds.
# TYPE ${name} histogram
${name}_bucket{le="0.01",model_name="a"} 40.0
${name}_bucket{le="+Inf",model_name="a"} 100.0
${name}_count{model_name="a"} 100.0
${name}_sum{model_name="a"} 1.5
${name}_bucket{le="0.01",model_name="b"} 20.0
${name}_bucket{le="+Inf",model_name="b"} 200.0
${name}_count{model_name="b"} 200.0
${name}_sum{model_name="b"} 3.0
`;

const cases = [
  { name: 'vLLM: counts summed over engines, KV averaged', text: VLLM, want: { running: 5, waiting: 4, kvUsage: 0.375 } },
  { name: 'SGLang names', text: SGLANG, want: { running: 7, waiting: 2, kvUsage: 0.75 } },
  { name: 'TGI names (no KV metric)', text: TGI, want: { running: 16, waiting: 6 } },
  { name: 'DCGM GPU utilisation, percent to fraction, averaged', text: VLLM + DCGM, want: { running: 5, waiting: 4, kvUsage: 0.375, gpuUtil: 0.6 } },
  { name: "vLLM's legacy KV name", text: 'vllm:gpu_cache_usage_perc{model_name="m"} 0.1\n', want: { kvUsage: 0.1 } },
  {
    name: 'the current vLLM name wins over the legacy one',
    text: 'vllm:gpu_cache_usage_perc 0.9\nvllm:kv_cache_usage_perc 0.2\n',
    want: { kvUsage: 0.2 },
  },
  { name: 'NaN samples are skipped', text: 'vllm:num_requests_waiting{engine="0"} NaN\nvllm:num_requests_waiting{engine="1"} 2\n', want: { waiting: 2 } },
  { name: 'no known metric: nothing', text: 'process_cpu_seconds_total 12\n', want: {} },
  { name: 'empty page', text: '', want: {} },
  {
    name: 'ITL histogram: _sum and _count, summed over series that are not contiguous',
    text: ITL('vllm:inter_token_latency_seconds'),
    want: { itlSum: 4.5, itlCount: 300 },
  },
  { name: "vLLM's pre-0.11 time per output token when there is no ITL", text: ITL('vllm:time_per_output_token_seconds'), want: { itlSum: 4.5, itlCount: 300 } },
  {
    name: 'ITL wins over time per output token',
    text: ITL('vllm:time_per_output_token_seconds') + 'vllm:inter_token_latency_seconds_sum 1\nvllm:inter_token_latency_seconds_count 50\n',
    want: { itlSum: 1, itlCount: 50 },
  },
  { name: 'SGLang ITL', text: ITL('sglang:inter_token_latency_seconds'), want: { itlSum: 4.5, itlCount: 300 } },
  { name: 'a _sum without its _count: nothing', text: 'vllm:inter_token_latency_seconds_sum 3\n', want: {} },
  { name: 'CRLF line ends and no final newline', text: 'tgi_queue_size 3\r\ntgi_batch_current_size 1', want: { running: 1, waiting: 3 } },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const got = readEngineMetrics(c.text);
    for (const k of Object.keys(got) as (keyof typeof got)[]) if (got[k] === undefined) delete got[k];
    t.same(got, c.want);
  });
}
