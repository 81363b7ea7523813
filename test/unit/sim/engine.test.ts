// The engine on a virtual clock: no timers, no wall time. Each test submits requests at a
// model time, advances the engine and reads the model timestamps it reports.
import t, { type Test } from 'tap';
import { Engine, ReqState, type EngineOptions, type EngineRequest, type RequestSink } from '../../../lib/sim/engine';
import { getProfile, loadTimeMs } from '../../../lib/sim/profiles';

const P8B = getProfile('llama3-8b-h100');

function engine(opts: Partial<EngineOptions> = {}): Engine {
  return new Engine({ profile: P8B, jitterPct: 0, seed: 7, ...opts });
}

/** Distinct token ids for request `k` (no accidental sharing between requests). */
function prompt(k: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => k * 1_000_003 + i);
}

/** A sink that records the model time of every token. */
function recorder(): RequestSink & { times: Map<string, number[]>; texts: Map<string, string> } {
  const times = new Map<string, number[]>();
  const texts = new Map<string, string>();
  return {
    times,
    texts,
    token(r, text, _finish, at) {
      if (!times.has(r.id)) times.set(r.id, []);
      times.get(r.id)!.push(at);
      texts.set(r.id, (texts.get(r.id) ?? '') + text);
    },
  };
}

function within(t: Test, actual: number, expected: number, tol: number, msg: string) {
  t.ok(Math.abs(actual - expected) <= tol * expected, `${msg}: ${actual.toFixed(2)} within ${tol * 100}% of ${expected}`);
}

t.test('calibration: a 2,048-token prompt on an idle engine has TTFT ≈ 139 ms', async (t) => {
  const e = engine();
  const r = e.submit({ model: 'llama-3-8b', promptTokens: prompt(1, 2048), maxTokens: 1, ignoreEos: true });
  e.advanceTo(10_000);
  t.equal(r.state, ReqState.Done);
  within(t, r.firstTokenAt - r.arrival, 139, 0.15, 'TTFT');
  // the same with the default ±5% jitter, averaged over sequential requests
  const j = engine({ jitterPct: 5 });
  let sum = 0;
  for (let k = 0; k < 50; k++) {
    const q = j.submit({ model: 'llama-3-8b', promptTokens: prompt(100 + k, 2048), maxTokens: 1, ignoreEos: true });
    j.advanceTo(j.now + 1000);
    sum += q.firstTokenAt - q.arrival;
  }
  within(t, sum / 50, 139, 0.15, 'mean TTFT with jitter');
});

t.test('calibration: batch 256 at 1k context has an inter-token latency ≈ 24 ms', async (t) => {
  const e = engine();
  const rec = recorder();
  const reqs: EngineRequest[] = [];
  for (let k = 0; k < 256; k++) reqs.push(e.submit({ model: 'llama-3-8b', promptTokens: prompt(k, 1000), maxTokens: 64, ignoreEos: true, sink: rec }));
  e.advanceTo(120_000);
  // the last request starts decoding once all 256 are in the batch: its gaps are pure decode steps
  const last = rec.times.get(reqs[255]!.id)!;
  t.equal(last.length, 64);
  const gaps = last.slice(1, 21).map((x, i) => x - last[i]!);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  within(t, mean, 24, 0.15, 'ITL at batch 256');
  t.equal(e.numRunning, 0, 'everything finished');
});

t.test('a repeated prefix is a cache hit and costs less prefill', async (t) => {
  const e = engine();
  const shared = prompt(1, 2000);
  const a = e.submit({ model: 'llama-3-8b', promptTokens: [...shared, ...prompt(2, 48)], maxTokens: 4, ignoreEos: true });
  e.advanceTo(1000);
  t.equal(a.state, ReqState.Done);
  t.equal(a.cachedTokens, 0, 'cold cache: no hit');
  const b = e.submit({ model: 'llama-3-8b', promptTokens: [...shared, ...prompt(3, 48)], maxTokens: 4, ignoreEos: true });
  e.advanceTo(2000);
  t.equal(b.cachedTokens, 2000, 'the 125 full blocks of the shared 2,000 tokens hit');
  const ttftA = a.firstTokenAt - a.arrival;
  const ttftB = b.firstTokenAt - b.arrival;
  t.ok(ttftB < ttftA / 3, `warm TTFT ${ttftB.toFixed(1)} ms ≪ cold ${ttftA.toFixed(1)} ms`);
  // an identical prompt hits everything but the block holding its last token
  const c = e.submit({ model: 'llama-3-8b', promptTokens: [...shared, ...prompt(3, 48)], maxTokens: 1, ignoreEos: true });
  e.advanceTo(3000);
  t.equal(c.cachedTokens, 2032, 'floor((2048 − 1) / 16) blocks');
  const s = e.totals();
  t.equal(s.prefixQueries, 3 * 2048);
  t.equal(s.prefixHits, 2000 + 2032);
});

t.test('identical requests admitted in the same step all pay prefill', async (t) => {
  const e = engine();
  const p = prompt(9, 512);
  const a = e.submit({ model: 'llama-3-8b', promptTokens: p, maxTokens: 1, ignoreEos: true });
  const b = e.submit({ model: 'llama-3-8b', promptTokens: p, maxTokens: 1, ignoreEos: true });
  e.advanceTo(1000);
  t.equal(a.cachedTokens, 0);
  t.equal(b.cachedTokens, 0, 'blocks are hashed only at the end of the step that computes them');
});

t.test('a full KV cache queues requests (no rejection) until blocks free up', async (t) => {
  // 64 blocks of 16 tokens; each 400-token prompt needs 25 blocks + 1 spare to be admitted
  const e = engine({ kvCapacityTokens: 1024 });
  const reqs = [0, 1, 2].map((k) => e.submit({ model: 'llama-3-8b', promptTokens: prompt(k, 400), maxTokens: 50, ignoreEos: true }));
  e.advanceTo(11); // past the API overhead: the first step is scheduled
  t.equal(e.numRunning, 2, 'two fit');
  t.equal(e.numWaiting, 1, 'the third waits');
  t.equal(reqs[2]!.state, ReqState.Waiting);
  e.advanceTo(10_000);
  t.ok(reqs.every((r) => r.state === ReqState.Done && r.output === 50), 'all complete');
  t.ok(reqs[2]!.firstTokenAt >= Math.min(reqs[0]!.finishedAt, reqs[1]!.finishedAt), 'the third starts after one finished');
  t.ok(reqs[2]!.model.stats.queue.sum > 0.1, 'queue time recorded');
});

t.test('a decode that finds no free block preempts the newest request (recompute)', async (t) => {
  // 40 blocks; two 300-token prompts (19 blocks each) leave 2 blocks for 600 decode tokens
  const e = engine({ kvCapacityTokens: 640 });
  const rec = recorder();
  const a = e.submit({ model: 'llama-3-8b', promptTokens: prompt(1, 300), maxTokens: 200, ignoreEos: true, sink: rec });
  const b = e.submit({ model: 'llama-3-8b', promptTokens: prompt(2, 300), maxTokens: 200, ignoreEos: true, sink: rec });
  e.advanceTo(60_000);
  t.ok(e.totals().preemptions > 0, `preemptions: ${e.totals().preemptions}`);
  t.equal(b.preemptions > 0, true, 'the newer request was the victim');
  t.equal(a.preemptions, 0, 'the older one kept running');
  t.equal(a.output, 200);
  t.equal(b.output, 200);
  t.equal(rec.times.get(b.id)!.length, 200, 'no token delivered twice after recompute');
  t.equal(e.pool.freeCount, e.pool.targetBlocks, 'all blocks back in the free queue');
});

t.test('LRU eviction: least recently freed first, and a request’s tail blocks before its head', async (t) => {
  const e = engine({ kvCapacityTokens: 20 * 16 });
  const a = e.submit({ model: 'llama-3-8b', promptTokens: prompt(1, 128), maxTokens: 1, ignoreEos: true }); // 8 blocks
  e.advanceTo(100);
  const b = e.submit({ model: 'llama-3-8b', promptTokens: prompt(2, 128), maxTokens: 1, ignoreEos: true }); // 8 blocks
  e.advanceTo(200);
  const cached = (r: EngineRequest) => r.hashes.map((h) => (e.pool.lookup(h) ? 1 : 0)).join('');
  t.equal(cached(a), '11111111');
  t.equal(cached(b), '11111111');
  t.equal(e.pool.cachedBlocks, 16, 'both prompts cached after they finished');
  // C needs 6 blocks: the 4 never-used blocks, then A's last two (A was freed first, tail-first)
  e.submit({ model: 'llama-3-8b', promptTokens: prompt(3, 96), maxTokens: 1, ignoreEos: true });
  e.advanceTo(300);
  t.equal(e.pool.evictions, 2);
  t.equal(cached(a), '11111100', 'A lost its blocks 6 and 7 (its tail)');
  t.equal(cached(b), '11111111', 'B, freed later, kept everything');
  // a hit refreshes: A's prefix hit moves its blocks to the back of the queue when freed again
  const a2 = e.submit({ model: 'llama-3-8b', promptTokens: prompt(1, 128), maxTokens: 1, ignoreEos: true });
  e.advanceTo(400);
  t.equal(a2.cachedTokens, 6 * 16, 'A hits what is left of it');
  t.equal(cached(b), '11111100', 'A’s two new blocks came from B’s tail, now the LRU head');
  t.equal(cached(a), '11111111', 'A is whole again');
});

t.test('a cold model load delays the first request by the load time', async (t) => {
  const e = engine({
    models: [
      { name: 'a', weightsGB: 16 },
      { name: 'b', weightsGB: 30 },
    ],
    maxLoadedModels: 1,
  });
  t.equal(e.models.get('a')!.state, 'loaded');
  t.equal(e.models.get('b')!.state, 'unloaded');
  const warm = e.submit({ model: 'a', promptTokens: prompt(1, 64), maxTokens: 1, ignoreEos: true });
  e.advanceTo(1000);
  const warmTtft = warm.firstTokenAt - warm.arrival;
  const cold = e.submit({ model: 'b', promptTokens: prompt(1, 64), maxTokens: 1, ignoreEos: true });
  e.advanceTo(e.now + 100);
  t.equal(e.models.get('b')!.state, 'loading');
  t.equal(e.models.get('a')!.state, 'unloaded', 'the idle model was evicted');
  t.equal(e.numWaiting, 1, 'the request counts as waiting');
  t.ok(e.loading);
  e.advanceTo(e.now + 60_000);
  t.equal(cold.state, ReqState.Done);
  const load = loadTimeMs(30); // 20 s + 30/2 s
  t.equal(load, 35_000);
  within(t, cold.firstTokenAt - cold.arrival, load + warmTtft, 0.01, 'TTFT = load + warm TTFT');
  t.equal(e.models.get('b')!.state, 'loaded');
});

t.test('a load waits for the resident model to go idle', async (t) => {
  const e = engine({
    models: [
      { name: 'a', weightsGB: 16 },
      { name: 'b', weightsGB: 16 },
    ],
  });
  const long = e.submit({ model: 'a', promptTokens: prompt(1, 64), maxTokens: 500, ignoreEos: true });
  e.advanceTo(100);
  const other = e.submit({ model: 'b', promptTokens: prompt(2, 64), maxTokens: 1, ignoreEos: true });
  e.advanceTo(200);
  t.equal(e.models.get('b')!.state, 'unloaded', 'a is busy: no eviction yet');
  e.advanceTo(100_000);
  t.equal(long.state, ReqState.Done);
  t.equal(other.state, ReqState.Done);
  t.ok(other.firstTokenAt >= long.finishedAt + loadTimeMs(16), 'b loaded only after a went idle');
});

t.test('the KV pool shrinks when a second model becomes resident', async (t) => {
  const e = engine({
    models: [
      { name: 'a', weightsGB: 16 },
      { name: 'b', weightsGB: 16 },
    ],
    maxLoadedModels: 2,
  });
  // both resident from the start: 0.9·80 − 32 − 5 = 35 GB of KV vs 51 GB for one
  t.equal(e.pool.targetBlocks, Math.floor(Math.floor((400_000 * 35) / 51) / 16));
});

t.test('abort frees the request’s blocks at once and counts it', async (t) => {
  const e = engine();
  const rec = recorder();
  const r = e.submit({ model: 'llama-3-8b', promptTokens: prompt(1, 1000), maxTokens: 1000, ignoreEos: true, sink: rec });
  e.advanceTo(500);
  t.equal(r.state, ReqState.Running);
  t.ok(e.kvUsage() > 0);
  const before = rec.times.get(r.id)!.length;
  t.ok(e.abort(r));
  t.equal(r.state, ReqState.Aborted);
  t.equal(e.aborted, 1);
  t.equal(e.numRunning, 0);
  t.equal(e.kvUsage(), 0, 'blocks freed (cached ones count as free)');
  e.advanceTo(5000);
  t.equal(rec.times.get(r.id)!.length, before, 'no token after the abort');
  t.notOk(e.abort(r), 'a second abort is a no-op');
  t.equal(e.totals().aborted, 1);
});

t.test('output length: max_tokens with ignore_eos, else log-normal capped by max_tokens', async (t) => {
  const e = engine();
  const fixed = e.submit({ model: 'llama-3-8b', promptTokens: prompt(1, 10), maxTokens: 77, ignoreEos: true });
  const sampled = Array.from({ length: 200 }, (_, k) => e.submit({ model: 'llama-3-8b', promptTokens: prompt(k + 2, 10), maxTokens: 100 }));
  e.advanceTo(200_000);
  t.equal(fixed.output, 77);
  t.equal(fixed.finishReason, 'length');
  t.ok(sampled.every((r) => r.output >= 1 && r.output <= 100));
  t.ok(sampled.some((r) => r.finishReason === 'stop') && sampled.some((r) => r.finishReason === 'length'));
});

t.test('the same seed gives the same run', async (t) => {
  const run = () => {
    const e = new Engine({ profile: P8B, seed: 42 });
    const rec = recorder();
    for (let k = 0; k < 20; k++) e.submit({ model: 'llama-3-8b', promptTokens: prompt(k, 100 + k * 10), sink: rec, maxTokens: 50 });
    e.advanceTo(100_000);
    return JSON.stringify([...rec.times.entries()]) + JSON.stringify([...rec.texts.entries()]);
  };
  t.equal(run(), run());
});

t.test('advancing in many small ticks gives the same timestamps as one big advance', async (t) => {
  const run = (tick: number) => {
    const e = new Engine({ profile: P8B, seed: 3 });
    const rec = recorder();
    for (let k = 0; k < 30; k++) e.submit({ model: 'llama-3-8b', promptTokens: prompt(k, 300), sink: rec, maxTokens: 40, ignoreEos: true });
    for (let now = 0; now < 20_000; now += tick) e.advanceTo(now);
    e.advanceTo(20_000);
    return [...rec.times.values()].flat();
  };
  t.same(run(0.37), run(20_000), 'no drift from the tick size');
});
