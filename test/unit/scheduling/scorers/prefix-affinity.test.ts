import t from 'tap';
import { PrefixAffinityScorer, type PrefixAffinityOptions } from '../../../../lib/scheduling/scorers/prefix-affinity';
import { createScheduler } from '../../../../lib/scheduling/index';
import type { BackendView, SchedulingRequest } from '../../../../lib/scheduling/types';
import { NOW, fake, fleet, pool, request, scoresOf, seeded, type FakeInit } from '../fakes';

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
  // No hit: placement by footprint, b0 holds 6 records, b1 none.
  t.same(scoresOf(s, request({ promptText: 'XXXXXXXX' + SYSTEM }), bs), [0, 1]);
});

t.test('models never share entries', async (t) => {
  const s = make();
  const bs = fleet(2);
  sent(s, request({ promptText: SYSTEM, model: 'a' }), bs[0]!);
  t.same(scoresOf(s, request({ promptText: SYSTEM, model: 'b' }), bs), [0, 1], 'no hit: placement by footprint');
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

t.test('a saturated holder scores 0 (KV, in-flight limit, slowness); stale signals are not saturation', async (t) => {
  const cases: { name: string; holder: FakeInit; other?: FakeInit; inflightLimit?: number; want: number[] }[] = [
    { name: 'idle holder', holder: { kvUsage: 0.1 }, want: [1, 0] },
    { name: 'KV at the threshold', holder: { kvUsage: 0.8 }, want: [0, 0] },
    { name: 'in-flight limit', holder: { inflight: 4 }, other: { inflight: 0 }, inflightLimit: 4, want: [0, 0] },
    { name: 'slow: ITL 3× the other', holder: { itl: 0.03 }, other: { itl: 0.01 }, want: [0, 0] },
    { name: 'stale: unknown, not saturated', holder: { kvUsage: 0.95, itl: 0.03, stale: true }, other: { itl: 0.01 }, want: [1, 0] },
    { name: 'an engine queue: not tested by default (param queue none)', holder: { waiting: 50 }, want: [1, 0] },
  ];
  for (const c of cases) {
    const s = make({ limits: { queue: 5, kv: 0.8, inflight: c.inflightLimit ?? 0 } });
    const bs = [fake('b0', c.holder), fake('b1', c.other ?? {})];
    const req = request({ promptText: SYSTEM });
    sent(s, req, bs[0]!);
    t.same(scoresOf(s, req, bs), c.want, c.name);
  }
});

t.test('param queue: which engine queue the hit-mode test reads', async (t) => {
  const cases: { queue: 'none' | 'scraped' | 'estimated'; holder: FakeInit; want: number[] }[] = [
    { queue: 'none', holder: { waiting: 9 }, want: [1, 0] },
    { queue: 'scraped', holder: { waiting: 5 }, want: [0, 0] },
    { queue: 'scraped', holder: { waiting: 0, inflightAtScrape: 0, inflight: 7 }, want: [1, 0] },
    { queue: 'estimated', holder: { waiting: 0, inflightAtScrape: 0, inflight: 7 }, want: [0, 0] },
    { queue: 'estimated', holder: { waiting: 2, inflightAtScrape: 3, inflight: 3 }, want: [1, 0] },
  ];
  for (const c of cases) {
    const s = make({ queue: c.queue });
    const bs = [fake('b0', c.holder), fake('b1', { waiting: 0 })];
    const req = request({ promptText: SYSTEM });
    sent(s, req, bs[0]!);
    t.same(scoresOf(s, req, bs), c.want, `${c.queue}: ${JSON.stringify(c.holder)}`);
  }
});

t.test('when every candidate is saturated (a burst), affinity still decides', async (t) => {
  const s = make();
  const bs = fleet(2);
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  bs[0]!.signals.kvUsage = 0.85;
  bs[1]!.signals.kvUsage = 0.9;
  t.same(scoresOf(s, req, bs), [1, 0], 'moving would re-prefill and gain nothing');
  bs[1]!.signals.kvUsage = 0.1;
  t.same(scoresOf(s, req, bs), [0, 0], 'with an unsaturated candidate, the saturated holder yields');
});

t.test('records older than ttl do not count', async (t) => {
  const s = make({ ttl: 1000 });
  const bs = fleet(2, () => ({ unscraped: true }));
  const req = request({ promptText: SYSTEM });
  sent(s, req, bs[0]!);
  t.same(scoresOf(s, req, bs, NOW + 1000), [1, 0]);
  t.same(scoresOf(s, req, bs, NOW + 1001), [1, 1], 'no hit, and the expired records left the footprint');
  t.equal(s.index.size, 0);
  t.equal(s.index.footprint('b0'), 0);
});

t.test('memory bound: at most max_entries blocks, the least recently used evicted', async (t) => {
  const s = make({ maxEntries: 20 });
  const bs = fleet(2);
  for (let i = 0; i < 50; i++) sent(s, request({ promptText: `${i}`.padStart(8, '#') + SYSTEM }), bs[0]!);
  t.equal(s.index.size, 20);
  t.equal(s.index.footprint('b0'), 20, 'evicted records leave the footprint');
  t.same(scoresOf(s, request({ promptText: '49'.padStart(8, '#') + SYSTEM }), bs), [1, 0], 'the newest kept');
  t.same(scoresOf(s, request({ promptText: '0'.padStart(8, '#') + SYSTEM }), bs), [0, 1], 'the oldest gone: no hit, placement');
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

/** Makes `b` hold `blocks` records of a prefix nobody else has (prompt of exactly that many 8-char blocks). */
let unique = 0;
function hold(s: PrefixAffinityScorer, b: BackendView, blocks: number, now = NOW): void {
  const tag = `u${++unique}`.padEnd(8, '~');
  sent(s, request({ promptText: tag + 'x'.repeat(8 * (blocks - 1)) }), b, now);
}

t.test('no hit: placement by footprint, min-max over the candidates not saturated by KV, in-flight or slowness', async (t) => {
  const NEW = prompt('a conversation nobody has seen');
  const cases: { name: string; footprints: number[]; init?: FakeInit[]; want: number[] }[] = [
    { name: 'empty index: all neutral', footprints: [0, 0, 0], want: [1, 1, 1] },
    { name: 'the smallest footprint 1, the largest 0, linear between', footprints: [6, 0, 3], want: [0, 1, 0.5] },
    { name: 'equal footprints: all neutral', footprints: [5, 5], want: [1, 1] },
    {
      name: 'a candidate saturated by KV scores 0 and leaves the range',
      footprints: [6, 0, 3],
      init: [{}, { kvUsage: 0.9 }, {}],
      want: [0, 0, 1],
    },
    {
      name: 'an engine queue does not exclude (placement leaves the queue to the load scorers)',
      footprints: [6, 0, 3],
      init: [{}, { waiting: 9 }, {}],
      want: [0, 1, 0.5],
    },
    {
      name: 'a slow candidate (ITL 3× the median) scores 0',
      footprints: [6, 0, 3],
      init: [{ itl: 0.01 }, { itl: 0.03 }, { itl: 0.011 }],
      want: [0, 0, 1],
    },
    {
      name: 'stale signals: not saturated, not slow',
      footprints: [6, 0, 3],
      init: [{ itl: 0.01 }, { itl: 0.03, waiting: 9, stale: true }, { itl: 0.011 }],
      want: [0, 1, 0.5],
    },
    {
      name: 'every candidate saturated: footprints decide',
      footprints: [6, 0, 3],
      init: [{ kvUsage: 0.9 }, { kvUsage: 0.85 }, { kvUsage: 0.95 }],
      want: [0, 1, 0.5],
    },
    {
      name: 'requests sent since the scrape are not an engine queue',
      footprints: [6, 0, 3],
      init: [{}, { waiting: 0, inflightAtScrape: 0, inflight: 8 }, {}],
      want: [0, 1, 0.5],
    },
    {
      name: 'load imbalance beyond both thresholds: all 0',
      footprints: [6, 0, 3],
      init: [{}, { inflight: 30 }, {}],
      want: [0, 0, 0],
    },
  ];
  for (const c of cases) {
    const s = make();
    const bs = c.footprints.map((_, i) => fake(`b${i}`, c.init?.[i] ?? {}));
    c.footprints.forEach((f, i) => f > 0 && hold(s, bs[i]!, f));
    t.same(bs.map((b) => s.index.footprint(b.id)), c.footprints, `${c.name}: footprints`);
    t.same(scoresOf(s, request({ promptText: NEW }), bs), c.want, c.name);
  }
});

t.test('match_threshold: a best match below it is no hit', async (t) => {
  const long = (user: string) => prompt(user + ' and a long tail that has nothing in common with anything sent before');
  for (const [threshold, want] of [
    [0.1, 'hit'],
    [0.5, 'placement'],
    [0, 'hit'],
  ] as const) {
    const s = make({ matchThreshold: threshold });
    const bs = fleet(2);
    sent(s, request({ promptText: SYSTEM }), bs[0]!);
    const req = request({ promptText: long('question') });
    const share = Math.floor(SYSTEM.length / 8) / Math.floor(req.promptText!.length / 8);
    t.ok(share > 0.1 && share < 0.5, `matched share ${share}`);
    t.same(scoresOf(s, req, bs), want === 'hit' ? [share, 0] : [0, 1], `threshold ${threshold}: ${want}`);
  }
});

t.test('new prefixes spread over the backends through the preset, followers stay with them', async (t) => {
  // Eight groups, one prompt each, answered before the next arrives: load is equal at every
  // pick, so only the footprint can tell the backends apart.
  const sched = createScheduler('p', pool({ strategy: 'prefix-affinity' }), { random: seeded(7), clock: () => NOW });
  const bs = fleet(8, () => ({ waiting: 0, kvUsage: 0.1, inflightAtScrape: 0 }));
  const system = (g: number) => `<|system|>\ngroup ${g}: ${'you answer questions about this group. '.repeat(12)}\n`;
  const holder = new Map<number, string>();
  for (let g = 0; g < 8; g++) holder.set(g, sched.schedule(request({ promptText: `${system(g)}<|user|>\nfirst\n` }), bs, false).backend!.id);
  t.equal(new Set(holder.values()).size, 8, `one group per backend: ${[...holder.values()]}`);
  for (let g = 0; g < 8; g++) {
    t.equal(sched.schedule(request({ promptText: `${system(g)}<|user|>\nfollower\n` }), bs, false).backend!.id, holder.get(g), `group ${g} follower`);
  }
});
