import t from 'tap';
import { SessionAffinityScorer, type SessionAffinityOptions } from '../../../../lib/scheduling/scorers/session-affinity';
import type { BackendView } from '../../../../lib/scheduling/types';
import { NOW, fake, fleet, request, scoresOf } from '../fakes';

const make = (o: Partial<SessionAffinityOptions> = {}) =>
  new SessionAffinityScorer({ epsilon: 0.25, limits: { queue: 5, kv: 0.8, inflight: 0 }, pinTtl: 60_000, maxPins: 1000, ...o });

/** One scheduling cycle as the scheduler runs it: score, pick the 1, tell the scorer. */
function route(s: SessionAffinityScorer, key: string, cands: readonly BackendView[], now = NOW): string {
  const req = request({ sessionKey: key });
  const out = new Float64Array(cands.length);
  s.score(req, cands, out, new Map(), now);
  const picked = cands[out.indexOf(1)]!;
  s.onPick(req, picked, new Map(), now);
  return picked.id;
}

/** Marks every backend's signals as scraped at `now` (fresh then) and returns `now`. */
function scraped(bs: readonly BackendView[], now: number): number {
  for (const b of bs) b.signals.updatedAt = now;
  return now;
}

const keys = Array.from({ length: 4000 }, (_, i) => `session-${i}`);

t.test('no session key: every candidate 0; empty candidates: nothing', async (t) => {
  t.same(scoresOf(make(), request(), fleet(3)), [0, 0, 0]);
  t.same(scoresOf(make(), request({ sessionKey: 'k' }), []), []);
});

t.test('exactly one candidate scores 1', async (t) => {
  const sc = scoresOf(make(), request({ sessionKey: 'k' }), fleet(5));
  t.equal(sc.filter((x) => x === 1).length, 1);
  t.equal(sc.filter((x) => x === 0).length, 4);
});

t.test('two independently built scorers agree, whatever the candidate order', async (t) => {
  const a = make();
  const b = make();
  const bs = fleet(8);
  const shuffled = [bs[5]!, bs[2]!, bs[7]!, bs[0]!, bs[6]!, bs[1]!, bs[4]!, bs[3]!];
  const differ = keys.filter((k) => route(a, k, bs) !== route(b, k, shuffled));
  t.same(differ, []);
});

t.test('keys spread evenly: each of 8 backends within ±20% of its share', async (t) => {
  const s = make();
  const bs = fleet(8);
  const count = new Map<string, number>();
  for (const k of keys) count.set(route(s, k, bs), (count.get(route(s, k, bs)) ?? 0) + 1);
  for (const b of bs) t.ok(Math.abs(count.get(b.id)! - 500) <= 100, `${b.id} got ${count.get(b.id)}`);
});

t.test('a backend leaving moves only its keys; returning brings exactly them back', async (t) => {
  const s = make();
  const bs = fleet(8);
  const before = keys.map((k) => route(s, k, bs));
  const without = bs.filter((b) => b.id !== 'b3');
  const during = keys.map((k) => route(s, k, without));
  const moved = keys.filter((_, i) => before[i] !== during[i]);
  t.ok(moved.length > 0);
  t.ok(keys.every((_, i) => before[i] === 'b3' || before[i] === during[i]), 'keys of other backends stay');
  t.same(keys.map((k) => route(s, k, bs)), before, 'all keys back where they were');
});

t.test('a backend joining takes about 1/(n+1) of the keys, all moved keys go to it', async (t) => {
  const s = make();
  const bs = fleet(8);
  const before = keys.map((k) => route(s, k, bs));
  const after = keys.map((k) => route(s, k, [...bs, fake('b8')]));
  const moved = keys.filter((_, i) => before[i] !== after[i]);
  t.ok(moved.every((k) => after[keys.indexOf(k)] === 'b8'));
  const share = moved.length / keys.length;
  t.ok(share > 0.07 && share < 0.16, `moved share ${share}`);
});

t.test('bounded load: with a skewed key mix no backend exceeds ⌈(1+ε)·mean⌉', async (t) => {
  for (const epsilon of [0.1, 0.25, 1]) {
    const s = make({ epsilon });
    const bs = fleet(6, (i) => ({ weight: 1 + (i % 2) }));
    const weight = bs.reduce((a, b) => a + b.effectiveWeight, 0);
    let total = 0;
    let worst = 0;
    for (let i = 0; i < 1200; i++) {
      const key = `hot-${Math.floor(Math.sqrt(i) % 5)}`; // five keys, very unequal
      const b = bs.find((x) => x.id === route(s, key, bs))!;
      b.inflight++;
      total++;
      for (const x of bs) worst = Math.max(worst, x.inflight / Math.ceil(((1 + epsilon) * total * x.effectiveWeight) / weight));
    }
    t.ok(worst <= 1, `ε=${epsilon}: load/bound peaked at ${worst}`);
  }
});

t.test('without the bound a hot key would pile onto one backend', async (t) => {
  const s = make({ epsilon: 1000 });
  const bs = fleet(4);
  for (let i = 0; i < 100; i++) bs.find((x) => x.id === route(s, 'hot', bs))!.inflight++;
  t.equal(Math.max(...bs.map((b) => b.inflight)), 100);
});

t.test('migration: a saturated home sends the session on, and later turns follow it', async (t) => {
  const s = make();
  const bs = fleet(4);
  const key = 'chat-42';
  const home = route(s, key, bs);
  const byId = (id: string) => bs.find((b) => b.id === id)!;

  byId(home).signals.waiting = 9; // queue ≥ 5: saturated
  const next = route(s, key, bs);
  t.not(next, home, 'moved off the saturated home');

  byId(home).signals.waiting = 0; // home recovers
  t.equal(route(s, key, bs), next, 'pinned: the KV cache is on the new backend now');
  t.equal(route(s, key, bs, scraped(bs, NOW + 50_000)), next, 'still pinned while the session is active');

  byId(next).signals.kvUsage = 0.9; // the new backend saturates in turn
  t.equal(route(s, key, bs, scraped(bs, NOW + 60_000)), home, 'moves again, back home: home is its first choice');
  byId(next).signals.kvUsage = 0.1;
  t.equal(route(s, key, bs, scraped(bs, NOW + 61_000)), home, 'no pin left once home is used again');
});

t.test('a pin lapses after pin_ttl without requests', async (t) => {
  const s = make({ pinTtl: 1000 });
  const bs = fleet(3);
  const home = route(s, 'k', bs);
  const h = bs.find((b) => b.id === home)!;
  h.signals.waiting = 50;
  const next = route(s, 'k', bs);
  h.signals.waiting = 0;
  t.equal(route(s, 'k', bs, NOW + 900), next);
  t.equal(route(s, 'k', bs, NOW + 900 + 1001), home);
});

t.test('a pinned backend that leaves voids the pin; the session goes home', async (t) => {
  const s = make();
  const bs = fleet(3);
  const home = route(s, 'k', bs);
  bs.find((b) => b.id === home)!.signals.waiting = 50;
  const next = route(s, 'k', bs);
  bs.find((b) => b.id === home)!.signals.waiting = 0;
  t.equal(route(s, 'k', bs.filter((b) => b.id !== next)), home);
  t.equal(route(s, 'k', bs), home, 'not pinned any more when it returns');
});

t.test('saturation by local in-flight limit (breaker.max_requests_per_backend)', async (t) => {
  const s = make({ limits: { queue: 5, kv: 0.8, inflight: 3 }, epsilon: 1000 });
  const bs = fleet(3);
  const home = route(s, 'k', bs);
  bs.find((b) => b.id === home)!.inflight = 3;
  t.not(route(s, 'k', bs), home);
});

t.test('stale signals: saturation unknown, the session stays home', async (t) => {
  const s = make();
  const bs = fleet(3);
  const home = route(s, 'k', bs);
  const h = bs.find((b) => b.id === home)!;
  h.signals.waiting = 50;
  h.signals.updatedAt = NOW - 60_000;
  t.equal(route(s, 'k', bs), home);
});

t.test('every candidate saturated: stays home, no pin', async (t) => {
  const s = make();
  const bs = fleet(3, () => ({ waiting: 20 }));
  const home = route(s, 'k', bs);
  for (const b of bs) b.signals.waiting = 0;
  t.equal(route(s, 'k', bs), home);
});

t.test('a slow home (ITL above slow_factor × the median) sends the session on, as saturation does', async (t) => {
  for (const c of [
    { name: '3× the median: moves', factor: 2, itl: 0.03, moves: true },
    { name: '1.5× the median: stays', factor: 2, itl: 0.015, moves: false },
    { name: 'slow_factor 0: stays', factor: 0, itl: 0.03, moves: false },
  ]) {
    const s = make({ slowFactor: c.factor });
    const bs = fleet(4, () => ({ itl: 0.01 }));
    const home = route(s, 'k', bs);
    bs.find((b) => b.id === home)!.signals.itl = c.itl;
    t.equal(route(s, 'k', bs) !== home, c.moves, c.name);
  }
});
