// One scheduling profile: filters, then weighted scorers, then a picker, then post-pick
// hooks. Runs once per request attempt, synchronously, so its buffers and the cycle state
// are reused across calls: the steady state allocates only the Decision it returns (and the
// explain record, when asked for).
import type {
  BackendForgetter,
  BackendView,
  CycleState,
  Decision,
  Filter,
  Picker,
  PostPick,
  Scheduler,
  Scorer,
  SchedulingRequest,
} from './types';
import { grow } from './slots';

export interface WeightedScorer {
  readonly scorer: Scorer;
  /** ≥ 0; a scorer's [0,1] score counts `weight` times in the total. */
  readonly weight: number;
}

export interface Profile {
  readonly name: string;
  /** In order; the first is always the retry `exclude` filter. */
  readonly filters: readonly Filter[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: Picker;
}

type Explain = NonNullable<Decision['explain']>;

export class ProfileScheduler implements Scheduler {
  readonly profile: string;
  private readonly postPicks: PostPick[] = [];
  private readonly forgetters: BackendForgetter[] = [];
  private readonly state: CycleState = new Map();
  private totals = new Float64Array(64);
  private scores = new Float64Array(64);

  constructor(
    private readonly p: Profile,
    private readonly clock: () => number = Date.now,
  ) {
    this.profile = p.name;
    for (const plugin of [...p.filters, ...p.scorers.map((s) => s.scorer), p.picker]) {
      if (typeof (plugin as Partial<PostPick>).onPick === 'function') this.postPicks.push(plugin as unknown as PostPick);
      if (typeof (plugin as Partial<BackendForgetter>).removeBackend === 'function') this.forgetters.push(plugin as unknown as BackendForgetter);
    }
  }

  schedule(req: SchedulingRequest, available: readonly BackendView[], explain: boolean): Decision {
    const now = this.clock();
    if (this.state.size > 0) this.state.clear(); // Map#clear allocates a new table even when empty
    const ex: Explain | undefined = explain ? { profile: this.profile, candidates: available.length, filtered: {}, scored: [] } : undefined;

    let candidates = available;
    for (const f of this.p.filters) {
      if (candidates.length === 0) break;
      candidates = f.filter(req, candidates, this.state, now);
      if (ex) ex.filtered[f.name] = candidates.length;
    }
    const n = candidates.length;
    if (n === 0) return { backend: undefined, explain: ex };

    this.totals = grow(this.totals, n);
    this.scores = grow(this.scores, n);
    this.totals.fill(0, 0, n);
    if (ex) for (const b of candidates) ex.scored.push({ id: b.id, scores: {}, total: 0 });
    for (const { scorer, weight } of this.p.scorers) {
      scorer.score(req, candidates, this.scores, this.state, now);
      for (let i = 0; i < n; i++) {
        const s = this.scores[i]!;
        const clamped = s > 0 ? (s < 1 ? s : 1) : 0; // also maps NaN to 0
        this.totals[i] += weight * clamped;
        if (ex) ex.scored[i]!.scores[scorer.name] = clamped;
      }
    }
    if (ex) for (let i = 0; i < n; i++) ex.scored[i]!.total = this.totals[i]!;

    const backend = this.p.picker.pick(req, candidates, this.totals, this.state);
    if (backend !== undefined) for (const hook of this.postPicks) hook.onPick(req, backend, this.state, now);
    if (ex) ex.picked = backend?.id;
    return { backend, explain: ex };
  }

  removeBackend(id: string): void {
    for (const f of this.forgetters) f.removeBackend(id);
  }
}
