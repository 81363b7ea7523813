// /metrics pages as vLLM, SGLang and TGI write them (trimmed), shared by the parser and scraper tests.

export const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="llama"} 3.0
vllm:num_requests_running{engine="1",model_name="llama"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="llama"} 4.0
vllm:num_requests_waiting{engine="1",model_name="llama"} 0.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.5
vllm:kv_cache_usage_perc{engine="1",model_name="llama"} 0.25
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="llama"} 0.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="llama"} 12.0
vllm:time_to_first_token_seconds_count{model_name="llama"} 12.0
vllm:time_to_first_token_seconds_sum{model_name="llama"} 1.5
vllm:num_requests_running_extra_but_different 99
`;

export const SGLANG = `# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="qwen"} 7
sglang:num_queue_reqs{model_name="qwen"} 2
sglang:token_usage{model_name="qwen"} 0.75
sglang:cache_hit_rate{model_name="qwen"} 0.4
`;

export const TGI = `# TYPE tgi_queue_size gauge
tgi_queue_size 6
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 16
`;
