// Failure injection and runtime knobs (POST /admin/config and setFailure), cold model loads
// over HTTP, and crash/refuse of the listener, against real sockets on 127.0.0.1.
import t from 'tap';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources';
import { startSimFleet, type FleetInstance, type SimFleet } from '../../../lib/sim';

const json = { 'content-type': 'application/json' };
const chat = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...json, ...headers },
    body: JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3, ...body }),
  });
const admin = (url: string, patch: unknown) => fetch(`${url}/admin/config`, { method: 'POST', headers: json, body: JSON.stringify(patch) });
async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}
/** True when a new connection is refused (a pooled keep-alive socket may fail first with a reset). */
async function refused(url: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    const code = await fetch(`${url}/health`).then(
      () => 'answered',
      (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? 'error',
    );
    if (code === 'ECONNREFUSED') return true;
    if (code === 'answered') return false;
  }
  return false;
}

let fleet: SimFleet;
let inst: FleetInstance;

t.beforeEach(async () => {
  fleet = await startSimFleet({ instances: 1, port: 0, timeScale: 0.01, seed: 3 });
  inst = fleet.instances[0]!;
});
t.afterEach(() => fleet.close());

t.test('/admin/config: GET the knobs, POST a patch, unknown keys and bad values are 400', async (t) => {
  const cfg = (await (await fetch(`${inst.url}/admin/config`)).json()) as Record<string, unknown>;
  t.equal(cfg.slowdown, 1);
  t.equal(cfg.failure_rate, 0);
  const ok = await admin(inst.url, { slowdown: 2.5, max_num_seqs: 8 });
  t.equal(ok.status, 200);
  t.equal(((await ok.json()) as Record<string, unknown>).slowdown, 2.5);
  t.equal(inst.engine.slowdown, 2.5);
  t.equal(inst.engine.maxNumSeqs, 8);
  const bad = await admin(inst.url, { slowdonw: 2 });
  t.equal(bad.status, 400);
  t.match(((await bad.json()) as { error: { message: string } }).error.message, /slowdonw/);
  t.equal((await admin(inst.url, { failure_rate: 140 })).status, 400);
});

t.test('injected errors: X-Return-Error and failure_rate over failure_types', async (t) => {
  const forced = await chat(inst.url, {}, { 'x-return-error': '429' });
  t.equal(forced.status, 429);
  t.equal(((await forced.json()) as { error: { type: string } }).error.type, 'RateLimitError');
  t.equal((await chat(inst.url, {}, { 'x-return-error': '503' })).status, 503);
  inst.setFailure({ failure_rate: 100, failure_types: ['invalid_api_key'] });
  const client = new OpenAI({ baseURL: `${inst.url}/v1`, apiKey: 'sim', maxRetries: 0 });
  const err = await client.chat.completions.create({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
  t.type(err, OpenAI.AuthenticationError);
  inst.setFailure({ failure_rate: 0 });
  t.equal((await chat(inst.url, {})).status, 200);
  t.equal(inst.state().counters.injected_errors, 3);
});

t.test('drain: 503 for new requests and /health, while running streams finish', async (t) => {
  const client = new OpenAI({ baseURL: `${inst.url}/v1`, apiKey: 'sim', maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'llama-3-8b',
    messages: [{ role: 'user', content: 'a long answer please' }],
    max_tokens: 200,
    ignore_eos: true,
    stream: true,
  } as ChatCompletionCreateParamsStreaming);
  const it = stream[Symbol.asyncIterator]();
  await it.next(); // running
  t.equal((await admin(inst.url, { drain: true })).status, 200);
  t.equal((await fetch(`${inst.url}/health`)).status, 503);
  t.equal((await fetch(`${inst.url}/health/ready`)).status, 503);
  const fresh = await chat(inst.url, {});
  t.equal(fresh.status, 503);
  let n = 1;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    n++;
  }
  t.equal(n, 201, 'the running stream got every token (role chunk + 200)');
  await admin(inst.url, { drain: false });
  t.equal((await fetch(`${inst.url}/health`)).status, 200);
});

t.test('abort_after_tokens: SSE error event, or a reset connection', async (t) => {
  const client = new OpenAI({ baseURL: `${inst.url}/v1`, apiKey: 'sim', maxRetries: 0 });
  const params = { model: 'llama-3-8b', messages: [{ role: 'user', content: 'x' }], max_tokens: 50, ignore_eos: true, stream: true } as ChatCompletionCreateParamsStreaming;
  inst.setFailure({ abort_after_tokens: 5, abort_mode: 'error' });
  let got = 0;
  const err = await (async () => {
    for await (const _ of await client.chat.completions.create(params)) got++;
  })().catch((e: unknown) => e);
  t.type(err, OpenAI.APIError, 'the client sees the error event');
  t.equal(got, 1 + 5, 'role chunk and 5 tokens before the error');

  inst.setFailure({ abort_mode: 'reset' });
  const raw = await chat(inst.url, { stream: true, max_tokens: 50, ignore_eos: true });
  t.equal(raw.status, 200);
  const body = await raw.text().catch((e: unknown) => e);
  t.type(body, Error, 'the body ends in a connection reset');
  t.equal(inst.state().counters.injected_aborts, 2);
  t.equal(inst.state().counters.client_disconnects, 0, 'injected cuts are not client disconnects');
  t.equal(inst.state().queue.running, 0);
});

t.test('stall_first_token_ms delays the first token by that much model time', async (t) => {
  inst.setFailure({ stall_first_token_ms: 3000 });
  t.equal((await chat(inst.url, { max_tokens: 1 })).status, 200);
  const m = await (await fetch(`${inst.url}/metrics`)).text();
  const sum = Number(/vllm:time_to_first_token_seconds_sum\{[^}]*\} (\S+)/.exec(m)![1]);
  t.ok(sum >= 3 && sum < 3.2, `TTFT ${sum} s (model time) includes the 3 s stall`);
});

t.test('slowdown multiplies step time (model time, so no wall-clock timing here)', async (t) => {
  let call = 0;
  const ttft = async () => {
    const words = Array.from({ length: 2000 }, (_, i) => `w${call}x${i}`).join(' '); // no shared prefix
    call++;
    await chat(inst.url, { messages: [{ role: 'user', content: words }], max_tokens: 1 });
    const m = await (await fetch(`${inst.url}/metrics`)).text();
    return Number(/vllm:time_to_first_token_seconds_sum\{[^}]*\} (\S+)/.exec(m)![1]);
  };
  const base = await ttft();
  inst.setFailure({ slowdown: 4, latency_jitter_pct: 0 });
  const slow = (await ttft()) - base;
  t.ok(slow > 3 * base, `4× slowdown: ${base.toFixed(3)} s → ${slow.toFixed(3)} s`);
});

t.test('health flapping, frozen and fake metrics', async (t) => {
  inst.setFailure({ health_flap_rate: 1 });
  t.equal((await fetch(`${inst.url}/health`)).status, 503);
  inst.setFailure({ health_flap_rate: 0 });
  t.equal((await fetch(`${inst.url}/health`)).status, 200);

  inst.setFailure({ metrics_freeze: true });
  const frozen = await (await fetch(`${inst.url}/metrics`)).text();
  await chat(inst.url, {});
  t.equal(await (await fetch(`${inst.url}/metrics`)).text(), frozen, 'unchanged while frozen');
  inst.setFailure({ metrics_freeze: false });
  t.not(await (await fetch(`${inst.url}/metrics`)).text(), frozen);

  inst.setFailure({ fake_metrics: { running: 7, waiting: 3, kv_cache_usage_perc: 0.9, gpu_util: 55 } });
  const fake = await (await fetch(`${inst.url}/metrics`)).text();
  t.match(fake, /vllm:num_requests_running\{engine="0",model_name="llama-3-8b"\} 7/);
  t.match(fake, /vllm:num_requests_waiting\{engine="0",model_name="llama-3-8b"\} 3/);
  t.match(fake, /vllm:kv_cache_usage_perc\{[^}]*\} 0.9/);
  t.match(fake, /DCGM_FI_DEV_GPU_UTIL\{[^}]*\} 55/);
});

t.test('refuse_connections: the port refuses, then serves again', async (t) => {
  inst.setFailure({ refuse_connections: true });
  t.ok(await refused(inst.url), 'ECONNREFUSED');
  t.equal(inst.instance.listening, false);
  inst.setFailure({ refuse_connections: false });
  t.ok(await until(async () => (await fetch(`${inst.url}/health`).catch(() => null))?.status === 200), 'back on the same port');
  // a timed refusal (model ms) ends by itself: 100 s of model time = 1 s here
  inst.setFailure({ refuse_connections: 100_000 });
  t.ok(await refused(inst.url));
  t.ok(await until(async () => (await fetch(`${inst.url}/health`).catch(() => null))?.status === 200));
  t.equal(inst.instance.knobs.refuse_connections, false);
});

t.test('crash: streams reset, listener down, back with a cold cache', async (t) => {
  const prompt = 'the harbor pilot knows every berth '.repeat(30);
  await fetch(`${inst.url}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify({ model: 'llama-3-8b', prompt, max_tokens: 1 }) });
  t.ok(inst.state().kv.cached_blocks > 0);
  const stream = await chat(inst.url, { stream: true, max_tokens: 100_000, ignore_eos: true }); // outlives the test
  const reader = stream.body!.getReader();
  await reader.read();
  const res = await admin(inst.url, { crash: 100 }); // 100 s of model time = 1 s here
  t.equal(res.status, 200, 'the admin call is answered before the crash');
  const rest = await (async () => {
    for (;;) if ((await reader.read()).done) return 'ended';
  })().catch((e: unknown) => e);
  t.type(rest, Error, 'the in-flight stream was reset');
  t.ok(await refused(inst.url), 'listener down');
  t.ok(await until(async () => (await fetch(`${inst.url}/health`).catch(() => null))?.status === 200), 'back after the crash time');
  const s = inst.state();
  t.equal(s.kv.cached_blocks, 0, 'cold cache');
  t.equal(s.counters.dropped_by_crash, 1);
  const again = await fetch(`${inst.url}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify({ model: 'llama-3-8b', prompt, max_tokens: 1 }) });
  t.equal(((await again.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } }).usage.prompt_tokens_details.cached_tokens, 0);
});

t.test('cold model load over HTTP: the request waits, then /v1/models lists the new model', async (t) => {
  await fleet.close();
  // the load takes 27 s of model time: 1.35 s here, long enough to watch it
  fleet = await startSimFleet({ port: 0, timeScale: 0.05, models: ['llama-3-8b:16', 'mistral-7b:14'], maxLoadedModels: 1 });
  inst = fleet.instances[0]!;
  const list = async () => ((await (await fetch(`${inst.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
  t.same(await list(), ['llama-3-8b']);
  const pending = fetch(`${inst.url}/v1/completions`, { method: 'POST', headers: json, body: JSON.stringify({ model: 'mistral-7b', prompt: 'hi', max_tokens: 2 }) });
  t.ok(await until(() => inst.state().queue.waiting === 1), 'the request waits for the load');
  t.equal((await fetch(`${inst.url}/health/ready`)).status, 503, 'not ready during a model load');
  const m = await (await fetch(`${inst.url}/metrics`)).text();
  t.match(m, /vllm:num_requests_waiting\{engine="0",model_name="mistral-7b"\} 1/);
  t.match(m, /sim:model_state\{model="mistral-7b",state="loading"\} 1/);
  const r = await pending;
  t.equal(r.status, 200);
  t.same(await list(), ['mistral-7b'], 'the LRU idle model was evicted');
  const ttft = Number(/vllm:time_to_first_token_seconds_sum\{engine="0",model_name="mistral-7b"\} (\S+)/.exec(await (await fetch(`${inst.url}/metrics`)).text())![1]);
  t.ok(ttft >= 27 && ttft < 28, `TTFT ${ttft} s ≈ 20 s + 14 GB / 2 GB/s`);
});

t.test('startup duration: /health/ready is 503 until the models are loaded; /health is 200', async (t) => {
  await fleet.close();
  fleet = await startSimFleet({ port: 0, timeScale: 1, startupDurationMs: 3_600_000 });
  inst = fleet.instances[0]!;
  t.equal((await fetch(`${inst.url}/health`)).status, 200);
  t.equal((await fetch(`${inst.url}/health/ready`)).status, 503);
  t.same(((await (await fetch(`${inst.url}/v1/models`)).json()) as { data: unknown[] }).data, []);
});
