import t from 'tap';
import { PrefixAffinityScorer, type PrefixAffinityOptions } from '../../../../lib/scheduling/scorers/prefix-affinity';
import type { BackendView, SchedulingRequest } from '../../../../lib/scheduling/types';
import { NOW, fleet, request, scoresOf } from '../fakes';

const make = (o: Partial<PrefixAffinityOptions> = {}) =>
  new PrefixAffinityScorer({
    blockSize: 8,
    maxBlocks: 64,
    maxEntries: 10_000,
    maxHolders: 4,
    ttl: 60_000,
    balanceAbs: 8,
    balanceRel: 1.5,
    limits: { queue: 5, kv: 0.8, inflight: 0 },
    ...o,
  });

const SYSTEM = '<|system|>\nYou are a careful assistant. Answer briefly.\n'; // 48 chars = 6 blocks of 8
const prompt = (user: string) => `${SYSTEM}<|user|>\n${user}\n`;

/** Records that `b` received the request, as the scheduler's post-pick hook does. */
function sent(s: PrefixAffinityScorer, req: SchedulingRequest, b: BackendView, now = NOW): void {
  s.onPick(req, b, new Map(), now);
}

t.test('no prompt, or shorter than a block: every candidate 0, nothing recorded', async (t) => {
  const s = make();
  const bs = fleet(2);
  for (const promptText of [undefined, '', 'short']) {
    const req = request({ promptText });
    sent(s, req, bs[0]!);
    t.same(scoresOf(s, req, bs), [0, 0]);
  }
  t.equal(s.index.size, 0);
  t.same(scoresOf(s, request({ promptText: SYSTEM }), []), []);
});

t.test('scores the share of leading blocks a backend was sent', async (t) => {
  const s = make();
  const bs = fleet(3);
  sent(s, request({ promptText: prompt('What is the capital of France?') }), bs[1]!);
  const same = request({ promptText: prompt('What is the capital of France?') });
  t.same(scoresOf(s, same, bs), [0, 1, 0], 'the same prompt: full match');
  const other = request({ promptText: prompt('Summarise this contract for me please') });
  const blocks = Math.floor(other.promptText!.length / 8);
  const shared = Math.floor((SYSTEM.length + '<|user|>\n'.length) / 8);
  t.same(scoresOf(s, other, bs), [0, shared / blocks, 0], 'the shared system prompt: partial match');
});

t.test('the longest match wins', async (t) => {
  const s = make();
  const bs = fleet(2);
  sent(s, request({ promptText: SYSTEM }), bs[0]!);
  const turn2 = prompt('first question, and a long enough answer to span blocks');
  sent(s, request({ promptText: turn2 }), bs[1]!);
  const sc = scoresOf(s, request({ promptText: turn2 + '<|user|>\nfollow-up\n' }), bs);
  t.ok(sc[1]! > sc[0]! && sc[0]! > 0, `scores ${sc}`);
});

t.test('a prefix is only a prefix: the same block later in a prompt does not match', async (t) => {
  const s = make();
  const bs = fleet(2);
  sent(s, request({ promptText: SYSTEM }), bs[0]!);
  t.same(scoresOf(s, request({ promptText: 'XXXXXXXX' + SYSTEM }), bs), [0, 0]);
});

t.test('models never share entries', async (t) => {
  const s = make();
  const bs = fleet(2);
  sent(s, request({ promptText: SYSTEM, model: 'a' }), bs[0]!);
  t.same(scoresOf(s, request({ promptText: SYSTEM, model: 'b' }), bs), [0, 0]);
  t.same(scoresOf(s, request({ promptText: SYSTEM, model: 'a' }), bs), [1, 0]);
});

t.test('load imbalance beyond both thresholds: all 0, the load scorers decide', async (t) => {
  const s = make();
  const bs = fleet(2);
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  bs[0]!.inflight = 20; // 20 − 2 > 8 and 20 > 1.5 × 2
  bs[1]!.inflight = 2;
  t.same(scoresOf(s, req, bs), [0, 0]);
  bs[1]!.inflight = 14; // 6 apart: within balance_abs
  t.same(scoresOf(s, req, bs), [1, 0]);
  bs[0]!.inflight = 100;
  bs[1]!.inflight = 80; // 20 apart but 100 < 1.5 × 80: within balance_rel
  t.same(scoresOf(s, req, bs), [1, 0]);
});

t.test('a saturated holder scores 0; stale signals are not saturation', async (t) => {
  const s = make();
  const bs = fleet(2);
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  bs[0]!.signals.waiting = 6;
  t.same(scoresOf(s, req, bs), [0, 0]);
  bs[0]!.signals.updatedAt = NOW - 60_000;
  t.same(scoresOf(s, req, bs), [1, 0]);
});

t.test('when every candidate is saturated (a burst), affinity still decides', async (t) => {
  const s = make();
  const bs = fleet(2);
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  bs[0]!.signals.waiting = 6;
  bs[1]!.signals.waiting = 7;
  t.same(scoresOf(s, req, bs), [1, 0], 'moving would re-prefill and gain no queue');
  bs[1]!.signals.waiting = 1;
  t.same(scoresOf(s, req, bs), [0, 0], 'with an unsaturated candidate, the saturated holder yields');
});

t.test('records older than ttl do not count', async (t) => {
  const s = make({ ttl: 1000 });
  const bs = fleet(2, () => ({ unscraped: true }));
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  t.same(scoresOf(s, req, bs, NOW + 1000), [1, 0]);
  t.same(scoresOf(s, req, bs, NOW + 1001), [0, 0]);
});

t.test('memory bound: at most max_entries blocks, the least recently used evicted', async (t) => {
  const s = make({ maxEntries: 20 });
  const bs = fleet(1);
  for (let i = 0; i < 50; i++) sent(s, request({ promptText: `${i}`.padStart(8, '#') + SYSTEM }), bs[0]!);
  t.equal(s.index.size, 20);
  t.same(scoresOf(s, request({ promptText: '49'.padStart(8, '#') + SYSTEM }), bs), [1], 'the newest kept');
  t.same(scoresOf(s, request({ promptText: '0'.padStart(8, '#') + SYSTEM }), bs), [0], 'the oldest gone');
});

t.test('at most max_holders backends per block, the stalest replaced', async (t) => {
  const s = make({ maxHolders: 2 });
  const bs = fleet(3);
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!, NOW);
  sent(s, req, bs[1]!, NOW + 1);
  sent(s, req, bs[2]!, NOW + 2);
  t.same(scoresOf(s, req, bs, NOW + 3), [0, 1, 1]);
});

t.test('removeBackend forgets it; a new backend with its id starts cold', async (t) => {
  const s = make();
  const bs = fleet(2);
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  sent(s, req, bs[1]!);
  s.removeBackend('b0');
  t.same(scoresOf(s, req, bs), [0, 1]);
  s.removeBackend('b1');
  t.equal(s.index.size, 0, 'blocks nobody holds are dropped');
});

t.test('max_blocks caps the prompt considered', async (t) => {
  const s = make({ maxBlocks: 2 });
  const bs = fleet(2);
  sent(s, request({ promptText: SYSTEM }), bs[0]!);
  t.equal(s.index.size, 2);
  t.same(scoresOf(s, request({ promptText: SYSTEM.slice(0, 16) + 'different tail...' }), bs), [1, 0]);
});
