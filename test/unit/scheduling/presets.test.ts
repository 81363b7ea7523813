// The `strategy` presets, end to end through createScheduler.
import t from 'tap';
import { STRATEGIES, type StrategyName } from '../../../lib/config/schema';
import { createScheduler } from '../../../lib/scheduling/index';
import type { BackendView, Scheduler } from '../../../lib/scheduling/types';
import { NOW, fleet, pool, request, seeded, type FakeBackend, type FakeInit } from './fakes';

const make = (strategy: StrategyName, raw: Record<string, unknown> = {}, seed = 1) =>
  createScheduler('p', pool({ strategy, ...raw }), { random: seeded(seed), clock: () => NOW });

function tally(s: Scheduler, bs: readonly BackendView[], n: number, req = () => request()): Record<string, number> {
  const count: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = s.schedule(req(), bs, false).backend!.id;
    count[id] = (count[id] ?? 0) + 1;
  }
  return count;
}

const pick = (s: Scheduler, bs: readonly BackendView[], init: Parameters<typeof request>[0] = {}) => s.schedule(request(init), bs, false).backend?.id;

t.test('least-queue prefers the shortest (estimated) queue', async (t) => {
  const s = make('least-queue');
  t.equal(pick(s, fleet(3, (i) => ({ waiting: [4, 1, 7][i] }))), 'b1');
  // b1's scrape said 1 waiting, but 5 requests went to it since: estimated 6.
  t.equal(pick(s, fleet(3, (i) => ({ waiting: [4, 1, 7][i], inflight: i === 1 ? 5 : 0, inflightAtScrape: 0 }))), 'b0');
});

t.test('least-request: power of two choices on in-flight', async (t) => {
  const c = tally(make('least-request'), fleet(4, (i) => ({ inflight: [3, 0, 9, 5][i] })), 4000);
  t.notOk(c.b2, 'the most loaded never wins a pair');
  t.ok(c.b1! > c.b0! && c.b0! > c.b3!, JSON.stringify(c));
});

t.test('kv-aware prefers KV headroom; stale KV leaves it to the queue', async (t) => {
  const s = make('kv-aware');
  t.equal(pick(s, fleet(3, (i) => ({ waiting: 1, kvUsage: [0.9, 0.2, 0.5][i] }))), 'b1');
  t.equal(pick(s, fleet(2, (i) => ({ waiting: [0, 5][i], kvUsage: [0.9, 0][i], stale: true, inflight: [0, 5][i] }))), 'b0');
});

t.test('gpu-aware prefers the idlest GPU', async (t) => {
  t.equal(pick(make('gpu-aware'), fleet(3, (i) => ({ waiting: 0, gpuUtil: [0.95, 0.6, 0.1][i] }))), 'b2');
});

t.test('round-robin rotates; random spreads by weight', async (t) => {
  const bs = fleet(3);
  const rr = make('round-robin');
  t.same([1, 2, 3, 4, 5, 6].map(() => pick(rr, bs)), ['b0', 'b1', 'b2', 'b0', 'b1', 'b2']);
  const c = tally(make('random'), fleet(2, (i) => ({ weight: [1, 3][i] })), 4000);
  t.ok(Math.abs(c.b1! - 3000) < 200, JSON.stringify(c));
});

t.test('session-affinity: two independently built schedulers place every key alike', async (t) => {
  const a = make('session-affinity', {}, 1);
  const b = make('session-affinity', {}, 99);
  const bsA = fleet(8);
  const bsB = fleet(8).reverse();
  const keys = Array.from({ length: 500 }, (_, i) => `user-${i}`);
  t.same(
    keys.map((k) => pick(a, bsA, { sessionKey: k })),
    keys.map((k) => pick(b, bsB, { sessionKey: k })),
  );
  t.equal(new Set(keys.map((k) => pick(a, bsA, { sessionKey: k }))).size, 8, 'and uses every backend');
});

t.test('session-affinity without a key: the shortest queue', async (t) => {
  t.equal(pick(make('session-affinity'), fleet(3, (i) => ({ waiting: [3, 2, 0][i] }))), 'b2');
});

t.test('session-affinity: bounded load holds through the scheduler (pool session.load_factor)', async (t) => {
  const s = make('session-affinity', { session: { load_factor: 1.5 } });
  const bs = fleet(4);
  for (let i = 0; i < 400; i++) {
    const b = s.schedule(request({ sessionKey: i % 3 === 0 ? 'hot' : `k${i}` }), bs, false).backend as FakeBackend;
    b.inflight++;
  }
  t.ok(Math.max(...bs.map((b) => b.inflight)) <= Math.ceil((1.5 * 400) / 4), bs.map((b) => b.inflight).join(' '));
});

t.test('migration: a saturated session moves and later turns follow it', async (t) => {
  const s = make('session-affinity');
  const bs = fleet(4, () => ({ waiting: 0 }));
  const turn = () => pick(s, bs, { sessionKey: 'chat-7' });
  const home = turn()!;
  const homeB = bs.find((b) => b.id === home)!;
  homeB.signals.waiting = 12; // saturated: queue ≥ 5
  const moved = turn()!;
  t.not(moved, home);
  homeB.signals.waiting = 0;
  t.same([turn(), turn(), turn()], [moved, moved, moved], 'turns follow the session to its new backend');
});

t.test('prefix-affinity prefers the backend that got the same prefix', async (t) => {
  const s = make('prefix-affinity');
  const bs = fleet(4, (i) => ({ waiting: [0, 0, 1, 0][i] }));
  const system = '<|system|>\nYou are a helpful assistant for ACME support. '.repeat(8);
  const first = s.schedule(request({ promptText: `${system}<|user|>\nhello\n` }), [bs[2]!], false).backend!;
  t.equal(first.id, 'b2');
  for (let i = 0; i < 5; i++) t.equal(pick(s, bs, { promptText: `${system}<|user|>\nquestion ${i}\n` }), 'b2');
});

t.test('prefix-affinity falls back to the shortest queue under load imbalance', async (t) => {
  const s = make('prefix-affinity');
  const bs = fleet(3, (i) => ({ waiting: [4, 0, 1][i] }));
  const prompt = 'x'.repeat(2000);
  s.schedule(request({ promptText: prompt }), [bs[0]!], false);
  t.equal(pick(s, bs, { promptText: prompt }), 'b0', 'balanced: the prefix holder, though its queue is longest');
  for (const [i, n] of [100, 2, 30].entries()) bs[i]!.inflight = bs[i]!.signals.inflightAtScrape = n;
  t.equal(pick(s, bs, { promptText: prompt }), 'b1', '100 vs 2 in flight: imbalanced, the shortest queue');
});

t.test('model-loaded: requests go where the model is resident', async (t) => {
  for (const strategy of STRATEGIES) {
    const s = make(strategy);
    const bs = fleet(4, (i) => ({ waiting: i === 3 ? 3 : 0, loadedModels: i === 3 ? ['llama'] : ['qwen'] }));
    const c = tally(s, bs, 20, () => request({ model: 'llama', sessionKey: 'k', promptText: 'p'.repeat(200) }));
    t.same(c, { b3: 20 }, strategy);
  }
});

t.test('every preset: honours exclude, drops non-serving backends, copes with stale and empty', async (t) => {
  for (const strategy of STRATEGIES) {
    const s = make(strategy);
    const init = (i: number): FakeInit => ({ stale: true, waiting: 0, kvUsage: 0, serves: i === 2 ? ['other'] : [] });
    const bs = fleet(3, init);
    const req = () => request({ model: 'm', sessionKey: 'k', promptText: 'q'.repeat(300), exclude: new Set(['b0']) });
    t.same(tally(s, bs, 10, req), { b1: 10 }, strategy);
    t.equal(pick(s, [], { model: 'm' }), undefined, `${strategy}: empty set`);
  }
});
