import t from 'tap';
import { readEngineMetrics } from '../../../../lib/scheduling/signals/metrics';
import { SGLANG, TGI, VLLM } from './fixtures';

const DCGM = `DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 80
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} 40
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
  { name: 'CRLF line ends and no final newline', text: 'tgi_queue_size 3\r\ntgi_batch_current_size 1', want: { running: 1, waiting: 3 } },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const got = readEngineMetrics(c.text);
    for (const k of Object.keys(got) as (keyof typeof got)[]) if (got[k] === undefined) delete got[k];
    t.same(got, c.want);
  });
}
