// /metrics of a simulated backend, computed at scrape time (spec §3). Names follow vLLM V1
// (labels `model_name`, `engine="0"`); GPU utilisation uses DCGM's name. Per-request gauges
// and counters have one series per served model (sum them for the backend); engine-wide
// gauges (KV usage, cache config, GPU) have one series, labelled with the first loaded model.
import type { Engine } from './engine';
import type { Knobs } from './failures';
import type { Profile } from './profiles';

export type MetricsFlavor = 'vllm' | 'sglang' | 'tgi' | 'all';

export interface MetricsSource {
  readonly id: string;
  readonly engine: Engine;
  readonly profile: Profile;
  readonly knobs: Knobs;
  readonly flavor: MetricsFlavor;
  readonly legacyKvMetric: boolean;
  readonly counters: {
    requests: number;
    inference_requests: number;
    client_disconnects: number;
    injected_aborts: number;
    injected_errors: number;
  };
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(src: MetricsSource): string {
  const e = src.engine;
  const fake = src.knobs.fake_metrics;
  const out: string[] = [];
  const models = [...e.models.values()];
  const primary = (models.find((m) => m.state === 'loaded') ?? models[0])!.name;
  const base = `engine="0",model_name="${esc(primary)}"`;
  const ml = (name: string) => `engine="0",model_name="${esc(name)}"`;
  const running = e.runningByModel();
  const waiting = e.waitingByModel();
  const kvUsage = fake?.kv_cache_usage_perc ?? e.kvUsage();
  // fake running/waiting replace the backend totals (reported on the primary model)
  const runOf = (name: string) => (fake?.running !== undefined ? (name === primary ? fake.running : 0) : running.get(name) ?? 0);
  const waitOf = (name: string) => (fake?.waiting !== undefined ? (name === primary ? fake.waiting : 0) : waiting.get(name) ?? 0);
  const head = (name: string, type: string, help: string) => {
    out.push(`# HELP ${name} ${help}`);
    out.push(`# TYPE ${name} ${type}`);
  };
  const perModel = (name: string, type: string, help: string, value: (m: (typeof models)[number]) => number) => {
    head(name, type, help);
    for (const m of models) out.push(`${name}{${ml(m.name)}} ${value(m)}`);
  };
  const vllm = src.flavor === 'vllm' || src.flavor === 'all';
  const sglang = src.flavor === 'sglang' || src.flavor === 'all';
  const tgi = src.flavor === 'tgi' || src.flavor === 'all';

  if (vllm) {
    perModel('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', (m) => runOf(m.name));
    perModel(
      'vllm:num_requests_waiting',
      'gauge',
      'Number of requests waiting to be processed (including those blocked on a model load).',
      (m) => waitOf(m.name),
    );
    head('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.');
    out.push(`vllm:kv_cache_usage_perc{${base}} ${kvUsage}`);
    if (src.legacyKvMetric) {
      head('vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage (legacy alias). 1 means 100 percent usage.');
      out.push(`vllm:gpu_cache_usage_perc{${base}} ${kvUsage}`);
    }
    head('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig.');
    out.push(`vllm:cache_config_info{block_size="${e.blockSize}",engine="0",num_gpu_blocks="${e.pool.targetBlocks}"} 1`);
    head('vllm:lora_requests_info', 'gauge', 'Running stats on lora requests.');
    out.push(`vllm:lora_requests_info{max_lora="0",running_lora_adapters="",waiting_lora_adapters=""} ${Math.floor(Date.now() / 1000)}`);
    perModel('vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', (m) => m.stats.prefixQueries);
    perModel('vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', (m) => m.stats.prefixHits);
    perModel('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', (m) => m.stats.promptTokens);
    perModel('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', (m) => m.stats.generationTokens);
    perModel('vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.', (m) => m.stats.preemptions);
    head('vllm:request_success_total', 'counter', 'Count of successfully processed requests.');
    for (const m of models) {
      out.push(`vllm:request_success_total{${ml(m.name)},finished_reason="stop"} ${m.stats.finishedStop}`);
      out.push(`vllm:request_success_total{${ml(m.name)},finished_reason="length"} ${m.stats.finishedLength}`);
      out.push(`vllm:request_success_total{${ml(m.name)},finished_reason="abort"} ${m.stats.aborted}`);
    }
    const hist = (name: string, help: string, pick: (s: (typeof models)[number]['stats']) => import('./histogram').Histogram) => {
      head(name, 'histogram', help);
      for (const m of models) pick(m.stats).render(name, ml(m.name), out);
    };
    hist('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', (s) => s.ttft);
    hist('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', (s) => s.itl);
    hist('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', (s) => s.tpot);
    hist('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', (s) => s.e2e);
    hist('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', (s) => s.queue);
  }
  if (sglang) {
    let run = 0;
    let wait = 0;
    for (const m of models) {
      run += runOf(m.name);
      wait += waitOf(m.name);
    }
    const t = e.totals();
    head('sglang:num_running_reqs', 'gauge', 'The number of running requests.');
    out.push(`sglang:num_running_reqs{model_name="${esc(primary)}"} ${run}`);
    head('sglang:num_queue_reqs', 'gauge', 'The number of requests in the waiting queue.');
    out.push(`sglang:num_queue_reqs{model_name="${esc(primary)}"} ${wait}`);
    head('sglang:token_usage', 'gauge', 'The token usage.');
    out.push(`sglang:token_usage{model_name="${esc(primary)}"} ${kvUsage}`);
    head('sglang:cache_hit_rate', 'gauge', 'The prefix cache hit rate.');
    out.push(`sglang:cache_hit_rate{model_name="${esc(primary)}"} ${t.prefixQueries ? t.prefixHits / t.prefixQueries : 0}`);
  }
  if (tgi) {
    let run = 0;
    let wait = 0;
    for (const m of models) {
      run += runOf(m.name);
      wait += waitOf(m.name);
    }
    head('tgi_queue_size', 'gauge', 'Current queue size.');
    out.push(`tgi_queue_size ${wait}`);
    head('tgi_batch_current_size', 'gauge', 'Current batch size.');
    out.push(`tgi_batch_current_size ${run}`);
  }

  // GPU utilisation as DCGM exports it (percent, one series per GPU)
  const util = fake?.gpu_util ?? Math.round(e.utilization() * 100);
  head('DCGM_FI_DEV_GPU_UTIL', 'gauge', 'GPU utilization (in %).');
  for (let g = 0; g < src.profile.gpus; g++) {
    out.push(
      `DCGM_FI_DEV_GPU_UTIL{gpu="${g}",UUID="GPU-${esc(src.id)}-${g}",device="nvidia${g}",modelName="${esc(src.profile.gpuModelName)}",Hostname="${esc(src.id)}"} ${util}`,
    );
  }

  // the simulator's own
  head('sim:model_state', 'gauge', 'Model residency (1 for the current state).');
  for (const m of models) out.push(`sim:model_state{model="${esc(m.name)}",state="${m.state}"} 1`);
  head('sim:requests_received_total', 'counter', 'HTTP requests received by this backend.');
  out.push(`sim:requests_received_total{kind="all"} ${src.counters.requests}`);
  out.push(`sim:requests_received_total{kind="inference"} ${src.counters.inference_requests}`);
  head('sim:requests_aborted_total', 'counter', 'Generations aborted before they finished.');
  out.push(`sim:requests_aborted_total{cause="client"} ${src.counters.client_disconnects}`);
  out.push(`sim:requests_aborted_total{cause="injected"} ${src.counters.injected_aborts}`);
  out.push(`sim:requests_aborted_total{cause="crash"} ${e.dropped}`);
  head('sim:injected_errors_total', 'counter', 'Requests answered with an injected error.');
  out.push(`sim:injected_errors_total ${src.counters.injected_errors}`);
  return out.join('\n') + '\n';
}
