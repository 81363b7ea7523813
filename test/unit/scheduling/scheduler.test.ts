import t from 'tap';
import { ExcludeFilter } from '../../../lib/scheduling/filters/exclude';
import { ServesModelFilter } from '../../../lib/scheduling/filters/serves-model';
import { MaxScorePicker } from '../../../lib/scheduling/pickers/max-score';
import { ProfileScheduler, type Profile } from '../../../lib/scheduling/scheduler';
import { InflightScorer } from '../../../lib/scheduling/scorers/inflight';
import type { BackendView, PostPick, Scorer, SchedulingRequest } from '../../../lib/scheduling/types';
import { NOW, fleet, request, seeded } from './fakes';

/** Scores from a fixed table by backend id. */
const fixed = (name: string, table: Record<string, number>): Scorer => ({
  name,
  score(_r, cands, out) {
    cands.forEach((b, i) => (out[i] = table[b.id] ?? 0));
  },
});

const profile = (p: Partial<Profile>): ProfileScheduler =>
  new ProfileScheduler({ name: 'test', filters: [new ExcludeFilter()], scorers: [], picker: new MaxScorePicker(seeded()), ...p }, () => NOW);

t.test('weighted scores add up; the picker sees the totals', async (t) => {
  const s = profile({ scorers: [{ scorer: fixed('a', { b0: 1, b1: 0 }), weight: 1 }, { scorer: fixed('b', { b0: 0, b1: 1 }), weight: 3 }] });
  t.equal(s.schedule(request(), fleet(2), false).backend?.id, 'b1');
});

t.test('out-of-range and NaN scores are clamped to [0,1]', async (t) => {
  const s = profile({ scorers: [{ scorer: fixed('wild', { b0: 7, b1: NaN, b2: -3 }), weight: 1 }] });
  const d = s.schedule(request(), fleet(3), true);
  t.same(d.explain!.scored.map((x) => x.total), [1, 0, 0]);
});

t.test('explain: candidates after each filter, each scorer score, totals and the pick', async (t) => {
  const s = profile({
    filters: [new ExcludeFilter(), new ServesModelFilter()],
    scorers: [{ scorer: new InflightScorer(), weight: 2 }, { scorer: fixed('flat', {}), weight: 1 }],
  });
  const bs = fleet(4, (i) => ({ inflight: i, serves: i === 3 ? ['other'] : [] }));
  const d = s.schedule(request({ model: 'm', exclude: new Set(['b0']) }), bs, true);
  t.same(d.explain, {
    profile: 'test',
    candidates: 4,
    filtered: { exclude: 3, 'serves-model': 2 },
    scored: [
      { id: 'b1', scores: { inflight: 1, flat: 0 }, total: 2 },
      { id: 'b2', scores: { inflight: 0, flat: 0 }, total: 0 },
    ],
    picked: 'b1',
  });
  t.equal(s.schedule(request(), bs, false).explain, undefined, 'nothing recorded when not asked');
});

t.test('no candidates, or a filter that drops all: no backend, and where it happened', async (t) => {
  const s = profile({ filters: [new ExcludeFilter(), new ServesModelFilter()] });
  t.same(s.schedule(request(), [], true), { backend: undefined, explain: { profile: 'test', candidates: 0, filtered: {}, scored: [] } });
  const d = s.schedule(request({ model: 'm' }), fleet(2, () => ({ serves: ['x'] })), true);
  t.equal(d.backend, undefined);
  t.same(d.explain!.filtered, { exclude: 2, 'serves-model': 0 });
});

t.test('post-pick hooks see the pick; removeBackend reaches stateful plugins', async (t) => {
  const seen: string[] = [];
  const removed: string[] = [];
  const hook: Scorer & PostPick & { removeBackend(id: string): void } = {
    ...fixed('hook', { b1: 1 }),
    onPick: (_r: SchedulingRequest, b: BackendView, _s: unknown, now: number) => void seen.push(`${b.id}@${now}`),
    removeBackend: (id: string) => void removed.push(id),
  };
  const s = profile({ scorers: [{ scorer: hook, weight: 1 }] });
  s.schedule(request(), fleet(2), false);
  s.schedule(request(), [], false);
  t.same(seen, [`b1@${NOW}`], 'called once, not for an empty set');
  s.removeBackend('b0');
  t.same(removed, ['b0']);
});

t.test('buffers grow for large pools and scores stay aligned', async (t) => {
  const s = profile({ scorers: [{ scorer: new InflightScorer(), weight: 1 }] });
  const bs = fleet(700, (i) => ({ inflight: i === 650 ? 0 : 5 }));
  t.equal(s.schedule(request(), bs, false).backend?.id, 'b650');
  t.equal(s.schedule(request(), bs.slice(0, 3), false).backend !== undefined, true);
});
