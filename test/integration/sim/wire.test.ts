// vLLM wire formats of the simulator, through the `openai` npm client (v6) and plain fetch,
// against real listeners on 127.0.0.1.
import t from 'tap';
import OpenAI from 'openai';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming, CompletionCreateParamsStreaming } from 'openai/resources';
import { startSimFleet, type SimFleet } from '../../../lib/sim';

let fleet: SimFleet;
let client: OpenAI;
let base: string;

t.before(async () => {
  fleet = await startSimFleet({ instances: 2, port: 0, timeScale: 0.01, seed: 11 });
  base = fleet.instances[0]!.url;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sim', maxRetries: 0 });
});
t.teardown(() => fleet.close());

const SYSTEM = 'You are the harbor pilot. ' + 'Keep every answer short and precise about tides and berths. '.repeat(20);

t.test('chat, non-streaming: shape, usage with cached_tokens, x-sim-backend', async (t) => {
  const { data, response } = await client.chat.completions
    .create({ model: 'llama-3-8b', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'When is high tide?' }], max_tokens: 12 })
    .withResponse();
  t.equal(response.headers.get('x-sim-backend'), fleet.instances[0]!.id);
  t.match(data.id, /^chatcmpl-[0-9a-f]{32}$/);
  t.equal(data.object, 'chat.completion');
  t.equal(data.model, 'llama-3-8b');
  t.equal(data.choices.length, 1);
  t.equal(data.choices[0]!.message.role, 'assistant');
  t.ok(data.choices[0]!.message.content!.length > 0);
  t.ok(['stop', 'length'].includes(data.choices[0]!.finish_reason));
  const u = data.usage!;
  t.ok(u.prompt_tokens > 200);
  t.ok(u.completion_tokens >= 1 && u.completion_tokens <= 12);
  t.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  t.equal(u.prompt_tokens_details?.cached_tokens, 0, 'cold cache');

  // same system prompt again: the shared prefix is a hit, reported as cached_tokens
  const again = await client.chat.completions.create({
    model: 'llama-3-8b',
    messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'And low tide?' }],
    max_tokens: 4,
  });
  const cached = again.usage!.prompt_tokens_details!.cached_tokens!;
  t.ok(cached > 200 && cached % 16 === 0, `cached_tokens ${cached}`);
});

t.test('chat, streaming with include_usage: role chunk, content chunks, finish, usage, [DONE]', async (t) => {
  const params = {
    model: 'llama-3-8b',
    messages: [{ role: 'user', content: 'Name five harbors.' }],
    max_tokens: 9,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  } as ChatCompletionCreateParamsStreaming;
  const stream = await client.chat.completions.create(params);
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  t.equal(chunks.length, 1 + 9 + 1, 'role chunk + one per token + usage chunk');
  t.same(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
  t.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id));
  const tokens = chunks.slice(1, 10);
  t.ok(tokens.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null));
  t.equal(tokens[8]!.choices[0]!.finish_reason, 'length');
  const last = chunks[10]!;
  t.same(last.choices, []);
  t.equal(last.usage!.completion_tokens, 9);
  t.equal(last.usage!.prompt_tokens_details!.cached_tokens, 0);
  const text = tokens.map((c) => c.choices[0]!.delta.content).join('');
  t.equal(text.split(' ').length, 9, 'one word per token');

  // raw SSE framing
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, max_tokens: 2 }),
  });
  t.match(res.headers.get('content-type'), /^text\/event-stream/);
  t.equal(res.headers.get('x-sim-backend'), fleet.instances[0]!.id);
  const raw = await res.text();
  const events = raw.split('\n\n').filter(Boolean);
  t.ok(events.every((e) => e.startsWith('data: ')));
  t.equal(events[events.length - 1], 'data: [DONE]');
});

t.test('completions, streaming and not; prompt as token ids; continuous usage', async (t) => {
  const c = await client.completions.create({ model: 'llama-3-8b', prompt: 'The tide at the harbor', max_tokens: 5 });
  t.match(c.id, /^cmpl-/);
  t.equal(c.object, 'text_completion');
  t.equal(c.usage!.prompt_tokens, 5);
  t.ok(c.choices[0]!.text.length > 0);
  t.equal(c.choices[0]!.logprobs, null);

  const ids = await client.completions.create({ model: 'llama-3-8b', prompt: [101, 102, 103, 104], max_tokens: 1 });
  t.equal(ids.usage!.prompt_tokens, 4);

  const params = {
    model: 'llama-3-8b',
    prompt: 'Tell me about berths',
    max_tokens: 4,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true, continuous_usage_stats: true },
  } as CompletionCreateParamsStreaming;
  const chunks = [];
  for await (const ch of await client.completions.create(params)) chunks.push(ch);
  t.equal(chunks.length, 5);
  t.ok(chunks.slice(0, 4).every((ch) => ch.object === 'text_completion' && ch.choices[0]!.index === 0));
  t.equal(chunks[3]!.choices[0]!.finish_reason, 'length');
  t.equal(chunks[2]!.usage!.completion_tokens, 3, 'continuous usage counts tokens so far');
  t.equal(chunks[4]!.usage!.total_tokens, 4 + 4);
});

t.test('errors: unknown model 404 NotFoundError with param model; bad requests 400', async (t) => {
  const err = await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
  t.type(err, OpenAI.NotFoundError);
  const e = err as InstanceType<typeof OpenAI.NotFoundError>;
  t.equal(e.status, 404);
  t.equal(e.param, 'model');
  t.equal((e.error as { type: string }).type, 'NotFoundError');

  const bad = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
  t.equal(bad.status, 400);
  t.equal(bad.headers.get('x-sim-backend'), fleet.instances[0]!.id);
  const body = (await bad.json()) as { error: { message: string; type: string; code: number } };
  t.equal(body.error.type, 'BadRequestError');
  t.equal(body.error.code, 400);

  const tooLong = await client.completions.create({ model: 'llama-3-8b', prompt: 'x', max_tokens: 10_000_000 }).catch((e: unknown) => e);
  t.type(tooLong, OpenAI.BadRequestError);
  t.match((tooLong as Error).message, /maximum context length/);

  const wrongMethod = await fetch(`${base}/v1/completions`);
  t.equal(wrongMethod.status, 405);
  const nowhere = await fetch(`${base}/nowhere`);
  t.equal(nowhere.status, 404);
});

t.test('GET /v1/models, /health, /health/ready', async (t) => {
  const models = await client.models.list();
  t.same(
    models.data.map((m) => m.id),
    ['llama-3-8b'],
  );
  const m = models.data[0] as unknown as Record<string, unknown>;
  t.equal(m.object, 'model');
  t.equal(m.owned_by, 'vllm');
  t.equal(m.root, 'llama-3-8b');
  t.equal(m.max_model_len, 131072);
  const h = await fetch(`${base}/health`);
  t.equal(h.status, 200);
  t.equal(await h.text(), '', 'empty body');
  t.equal(h.headers.get('x-sim-backend'), fleet.instances[0]!.id);
  t.equal((await fetch(`${base}/health/ready`)).status, 200);
});

t.test('/metrics: valid Prometheus text with vLLM and DCGM names', async (t) => {
  const res = await fetch(`${base}/metrics`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('x-sim-backend'), fleet.instances[0]!.id);
  const families = parsePrometheusTextFormat(await res.text()) as { name: string; type: string; metrics: { value?: string; labels?: Record<string, string> }[] }[];
  const byName = new Map(families.map((f) => [f.name, f]));
  for (const name of [
    'vllm:num_requests_running',
    'vllm:num_requests_waiting',
    'vllm:kv_cache_usage_perc',
    'vllm:prefix_cache_queries_total',
    'vllm:prefix_cache_hits_total',
    'vllm:prompt_tokens_total',
    'vllm:generation_tokens_total',
    'vllm:time_to_first_token_seconds',
    'vllm:inter_token_latency_seconds',
    'vllm:e2e_request_latency_seconds',
    'vllm:request_queue_time_seconds',
    'vllm:cache_config_info',
    'vllm:lora_requests_info',
    'DCGM_FI_DEV_GPU_UTIL',
    'sim:requests_aborted_total',
  ]) {
    t.ok(byName.has(name), name);
  }
  t.equal(byName.get('vllm:time_to_first_token_seconds')!.type, 'HISTOGRAM');
  t.equal(byName.get('vllm:num_requests_running')!.metrics[0]!.labels!.model_name, 'llama-3-8b');
  t.equal(byName.get('vllm:num_requests_running')!.metrics[0]!.labels!.engine, '0');
  const hits = Number(byName.get('vllm:prefix_cache_hits_total')!.metrics[0]!.value);
  t.ok(hits > 200, 'earlier tests produced prefix hits');
});

t.test('client disconnect mid-stream aborts the generation and counts it', async (t) => {
  const inst = fleet.instances[1]!;
  const c2 = new OpenAI({ baseURL: `${inst.url}/v1`, apiKey: 'sim', maxRetries: 0 });
  const before = inst.state().counters;
  const stream = await c2.chat.completions.create({
    model: 'llama-3-8b',
    messages: [{ role: 'user', content: 'Talk for a long time.' }],
    max_tokens: 100_000,
    ignore_eos: true,
    stream: true,
  } as ChatCompletionCreateParamsStreaming);
  let n = 0;
  for await (const _ of stream) {
    if (++n === 3) break; // leaving the loop aborts the HTTP request
  }
  const deadline = Date.now() + 5000;
  while (inst.state().counters.client_disconnects === before.client_disconnects && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const s = inst.state();
  t.equal(s.counters.client_disconnects, before.client_disconnects + 1);
  t.equal(s.counters.aborted, before.aborted + 1);
  t.equal(s.queue.running, 0, 'no longer generating');
  t.equal(s.kv.usage, 0, 'its KV blocks are free');
  const m = await (await fetch(`${inst.url}/metrics`)).text();
  t.match(m, /sim:requests_aborted_total\{cause="client"\} 1/);
  t.match(m, /vllm:request_success_total\{engine="0",model_name="llama-3-8b",finished_reason="abort"\} 1/);
});

t.test('every instance is independent: own id, own cache, own counters', async (t) => {
  const [a, b] = fleet.instances;
  t.not(a!.port, b!.port);
  t.equal(a!.id, `sim-${a!.port}`);
  const r = await fetch(`${b!.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3-8b', prompt: SYSTEM, max_tokens: 1 }) });
  t.equal(r.headers.get('x-sim-backend'), b!.id);
  const u = ((await r.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } }).usage;
  t.equal(u.prompt_tokens_details.cached_tokens, 0, 'a prefix cached on instance 0 is not on instance 1');
  t.ok(a!.state().counters.inference_requests > 0);
});
