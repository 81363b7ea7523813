// Session affinity: the backend a session key maps to scores 1, every other 0. Give it a
// weight above the sum of the load scorers' so that it decides whenever it has a say.
//
// Placement is rendezvous (highest-random-weight) hashing of key × backend id: a pure
// function of the key and the candidate ids, so independent Switchyard instances agree with
// no shared state. When a backend leaves or fails only its keys move (each to its next-ranked
// backend); when it returns they come back.
//
// Bounded load (Mirrokni et al., "Consistent Hashing with Bounded Loads"; HAProxy's
// hash-balance-factor): a backend is skipped, for this request only, while it already has
// ⌈(1+ε)·(total in-flight + 1)·weight/Σweight⌉ requests, so none exceeds (1+ε)× its share.
//
// Migration: when the session's backend is saturated (queue, KV or in-flight limit, or
// slow: inter-token latency above `slow_factor` × the candidates' median; see
// signals/load.ts SaturationTest) the session moves to its next-ranked unsaturated backend and is pinned
// there, so later turns follow it (its KV cache now lives there) even after the first
// backend recovers. A pin lasts until the session is idle for `pin_ttl`, its backend leaves
// or saturates in turn. Pins are local to the instance; the move itself is deterministic,
// so instances that see the same saturation move a session to the same place.
//
// No session key: every candidate scores 0 and the other scorers decide.
import { fmix32, hash32 } from '../hash';
import { SaturationTest, type SaturationLimits } from '../signals/load';
import type { BackendForgetter, BackendView, PostPick, Scorer, SchedulingRequest } from '../types';

export interface SessionAffinityOptions {
  /** ε of bounded load, ≥ 0 (pool `session.load_factor` − 1). */
  epsilon: number;
  limits: SaturationLimits;
  /** Inter-token latency above this × the candidates' median is saturation; 0 = off. Default 2. */
  slowFactor?: number;
  /** A pinned (migrated) session is forgotten after this long without a request (ms). */
  pinTtl: number;
  /** Most pins kept; the least recently used go first. */
  maxPins: number;
}

interface Pin {
  id: string;
  at: number;
}

const enum PinAction {
  None,
  Keep,
  Set,
}

export class SessionAffinityScorer implements Scorer, PostPick, BackendForgetter {
  readonly name = 'session-affinity';
  private readonly pins = new Map<string, Pin>();
  // What score() decided, for onPick() of the same cycle.
  private cycleReq: SchedulingRequest | undefined;
  private target: BackendView | undefined;
  private action = PinAction.None;
  private ranks = new Float64Array(64);
  /** hash32 of each backend id, computed once per backend rather than per request. */
  private readonly idHashes = new Map<string, number>();
  private readonly sat: SaturationTest;

  constructor(private readonly opts: SessionAffinityOptions) {
    this.sat = new SaturationTest(opts.limits, opts.slowFactor ?? 2);
  }

  score(req: SchedulingRequest, candidates: readonly BackendView[], out: Float64Array, _state: unknown, now: number): void {
    out.fill(0, 0, candidates.length);
    this.cycleReq = req;
    this.target = undefined;
    this.action = PinAction.None;
    if (req.sessionKey === undefined || candidates.length === 0) return;
    const i = this.choose(req.sessionKey, candidates, now);
    this.target = candidates[i];
    out[i] = 1;
  }

  onPick(req: SchedulingRequest, picked: BackendView, _state: unknown, now: number): void {
    if (req !== this.cycleReq || picked !== this.target || this.action === PinAction.None) return;
    const key = req.sessionKey!;
    const pin = this.pins.get(key);
    this.pins.delete(key); // re-inserted last: Map order is the LRU order
    if (pin !== undefined && this.action === PinAction.Keep) {
      pin.at = now;
      this.pins.set(key, pin);
      return;
    }
    this.pins.set(key, { id: picked.id, at: now });
    if (this.pins.size > this.opts.maxPins) this.pins.delete(this.pins.keys().next().value!);
  }

  /** Index of the candidate the session goes to; sets `action`. */
  private choose(key: string, candidates: readonly BackendView[], now: number): number {
    const keyHash = hash32(key);
    if (this.ranks.length < candidates.length) this.ranks = new Float64Array(candidates.length * 2);
    let load = 1; // counts the request being placed
    let weight = 0;
    for (const b of candidates) {
      load += b.inflight;
      weight += b.effectiveWeight;
    }
    let pin = this.pins.get(key);
    if (pin !== undefined && now - pin.at > this.opts.pinTtl) pin = undefined;
    this.sat.begin(candidates, now);
    const bound = (1 + this.opts.epsilon) * load;
    let pinned = -1;
    let pinUsable = false;
    // Best-ranked candidate under the load bound (home), also unsaturated (free), at all (any).
    let home = -1;
    let free = -1;
    let any = -1;
    for (let i = 0; i < candidates.length; i++) {
      const b = candidates[i]!;
      this.ranks[i] = fmix32(keyHash ^ this.idHash(b.id));
      const fits = b.inflight + 1 <= Math.ceil((bound * b.effectiveWeight) / weight);
      const saturated = this.sat.saturated(b);
      if (pin !== undefined && b.id === pin.id && !saturated) {
        pinUsable = true; // over the bound it yields for this request only
        if (fits) pinned = i;
      }
      if (this.beats(candidates, i, any)) any = i;
      if (fits && this.beats(candidates, i, home)) home = i;
      if (fits && !saturated && this.beats(candidates, i, free)) free = i;
    }
    // A pin whose backend left, saturated or idled out is void: the session goes home.
    if (pin === undefined || !pinUsable) this.pins.delete(key);
    if (pinned >= 0) {
      this.action = PinAction.Keep;
      return pinned;
    }
    if (free >= 0) {
      if (free !== home) this.action = PinAction.Set;
      return free;
    }
    return home >= 0 ? home : any;
  }

  removeBackend(id: string): void {
    this.idHashes.delete(id);
  }

  private idHash(id: string): number {
    let h = this.idHashes.get(id);
    if (h === undefined) this.idHashes.set(id, (h = hash32(id)));
    return h;
  }

  /** Rendezvous order: higher rank first, ties (1 in 2³²) by id so every instance agrees. */
  private beats(candidates: readonly BackendView[], i: number, j: number): boolean {
    if (j < 0) return true;
    const ri = this.ranks[i]!;
    const rj = this.ranks[j]!;
    return ri > rj || (ri === rj && candidates[i]!.id < candidates[j]!.id);
  }
}
