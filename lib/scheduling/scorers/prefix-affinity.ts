// Prefix affinity: scores each candidate by the share of the prompt's leading blocks it
// likely holds in its KV cache, from an approximate index of where earlier prompts were
// sent (prefix-index.ts). After the pick, the prompt's blocks are recorded for the chosen
// backend. Two modes, chosen per request and never mixed:
//
// - Hit (the best candidate holds ≥ `match_threshold` of the prompt's blocks, and at least
//   one): each candidate scores matched blocks / prompt blocks, in [0,1]; candidates
//   holding nothing score 0.
// - Placement (no hit): where the prompt's followers will go. A prompt that matches nowhere
//   starts a new prefix (a new system prompt, a new conversation), and whoever takes it
//   will get every later prompt that extends it. Load at this moment cannot see those, so
//   candidates are scored by their footprint (index records held, prefix-index.ts), SGLang's
//   "smallest tree": (max − f) / (max − min) over the candidates considered, so the
//   smallest scores 1, the largest 0, and all equal score 1 (neutral: the load scorers
//   decide, as on an empty index). Under the preset's weight (3 > the load scorers' 2) this
//   spreads new prefixes evenly over the backends and leaves near-ties to load.
//
// Guards, after the SGLang gateway's cache_aware policy:
// - Imbalance: when (max − min) in-flight over the candidates exceeds `balance_abs` AND
//   max > `balance_rel` × min, every candidate scores 0, so the load scorers of the profile
//   decide (SGLang defaults: 64 and 1.5).
// - Saturation (signals/load.ts SaturationTest: KV, the in-flight limit, slowness (ITL
//   above `slow_factor` × the candidates' median), and the engine queue if param `queue`
//   says so). Hit mode: a saturated holder scores 0 when another candidate is not
//   saturated (its cache is of no use if it cannot take the work while others can); the
//   request goes elsewhere, that backend is recorded as holding the prompt, and later
//   turns, whose prompts extend this one, match it longer and follow it there. When every
//   candidate is saturated the test says nothing and affinity decides: moving the request
//   would cost a re-prefill and gain no capacity. Placement mode: the footprints are
//   compared over the candidates not saturated by KV, the in-flight limit or slowness
//   (all of them, if every one is); the others score 0.
//   The queue: `queue` none (default) leaves it out, as SGLang's cache-aware policy
//   leaves load out of affinity beyond its imbalance guard; load still weighs in through
//   the load scorers of the profile. A queue test misreads bursts: estimated (scraped
//   waiting + requests sent since the scrape) marks whichever backends got the most
//   requests in the current scrape interval; scraped (waiting alone) is, during a burst,
//   whatever each backend showed at its own last scrape (scrapes are jittered apart).
//   Either way it sheds followers off their prefix at random (a re-prefill each, and a
//   copy of the prefix that draws later followers; W1 of bench:routing). `scraped` or
//   `estimated` (with `queue_threshold`) bring it back for hit mode; placement never
//   reads the queue: a new prefix's cost is every later prompt of it, a queue is transient.
//
// Blocks are `block_size` UTF-16 characters of SchedulingRequest.promptText (64 ≈ 16 tokens,
// vLLM's block), chained from a seed of the model name so models never share entries; at
// most `max_blocks` per prompt are considered. Without promptText, or with a prompt shorter
// than one block, every candidate scores 0 and nothing is recorded.
import { hash32, hash53 } from '../hash';
import { SaturationTest, type QueueView, type SaturationLimits } from '../signals/load';
import type { BackendForgetter, BackendView, PostPick, Scorer, SchedulingRequest } from '../types';
import { grow } from '../slots';
import { PrefixIndex, type PrefixIndexOptions } from './prefix-index';

export interface PrefixAffinityOptions extends PrefixIndexOptions {
  blockSize: number;
  maxBlocks: number;
  balanceAbs: number;
  balanceRel: number;
  limits: SaturationLimits;
  /** Inter-token latency above this × the candidates' median is saturation; 0 = off. Default 2. */
  slowFactor?: number;
  /** Best matched share of the prompt below which there is no hit (placement mode), in [0,1]. Default 0.1. */
  matchThreshold?: number;
  /** Which engine queue the hit-mode saturation test reads (see isSaturated). Default 'none'. */
  queue?: QueueView;
}

export class PrefixAffinityScorer implements Scorer, PostPick, BackendForgetter {
  readonly name = 'prefix-affinity';
  readonly index: PrefixIndex;
  private readonly sat: SaturationTest;
  private readonly matchThreshold: number;
  private readonly queue: QueueView;
  private readonly hashes: Float64Array;
  private blocks = 0;
  /** The request whose blocks are in `hashes`: score() and onPick() hash a prompt once. */
  private hashedFor: SchedulingRequest | undefined;
  /** Per candidate: 1 when saturated (scratch for one score() call). */
  private flags = new Int32Array(64);

  constructor(private readonly opts: PrefixAffinityOptions) {
    this.index = new PrefixIndex(opts);
    this.hashes = new Float64Array(opts.maxBlocks);
    this.sat = new SaturationTest(opts.limits, opts.slowFactor ?? 2);
    this.matchThreshold = opts.matchThreshold ?? 0.1;
    this.queue = opts.queue ?? 'none';
  }

  score(req: SchedulingRequest, candidates: readonly BackendView[], out: Float64Array, _state: unknown, now: number): void {
    const n = candidates.length;
    this.hashPrompt(req);
    if (this.blocks === 0 || this.imbalanced(candidates)) {
      out.fill(0, 0, n);
      return;
    }
    this.sat.begin(candidates, now);
    this.index.match(this.hashes, this.blocks, candidates, out, now);
    let best = 0;
    for (let i = 0; i < n; i++) if (out[i]! > best) best = out[i]!;
    if (best === 0 || best < this.matchThreshold * this.blocks) {
      this.place(candidates, out, now);
      return;
    }
    // Each candidate is tested once: a saturated holder yields when someone is not saturated.
    this.flags = grow(this.flags, n);
    let holderSaturated = false;
    let anyUnsaturated = false;
    for (let i = 0; i < n; i++) {
      const s = this.sat.saturated(candidates[i]!, this.queue);
      this.flags[i] = s ? 1 : 0;
      if (s && out[i] !== 0) holderSaturated = true;
      if (!s) anyUnsaturated = true;
    }
    const shed = holderSaturated && anyUnsaturated;
    for (let i = 0; i < n; i++) out[i] = out[i] === 0 || (shed && this.flags[i] === 1) ? 0 : out[i]! / this.blocks;
  }

  onPick(req: SchedulingRequest, picked: BackendView, _state: unknown, now: number): void {
    this.hashPrompt(req);
    this.index.insert(this.hashes, this.blocks, picked.id, now);
  }

  removeBackend(id: string): void {
    this.index.remove(id);
  }

  /** Placement mode: footprints, min-max normalised over the unsaturated candidates (all, if none is). */
  private place(candidates: readonly BackendView[], out: Float64Array, now: number): void {
    const n = candidates.length;
    this.index.expire(now);
    this.index.footprints(candidates, out);
    this.flags = grow(this.flags, n);
    let unsaturated = 0;
    for (let i = 0; i < n; i++) {
      const s = this.sat.saturated(candidates[i]!, 'none');
      this.flags[i] = s ? 1 : 0;
      if (!s) unsaturated++;
    }
    const skip = unsaturated > 0 ? 1 : 2; // flags[i] === skip: scores 0 (2 never matches)
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      if (this.flags[i] === skip) continue;
      if (out[i]! < min) min = out[i]!;
      if (out[i]! > max) max = out[i]!;
    }
    const span = max - min;
    for (let i = 0; i < n; i++) out[i] = this.flags[i] === skip ? 0 : span > 0 ? (max - out[i]!) / span : 1;
  }

  private hashPrompt(req: SchedulingRequest): void {
    if (req === this.hashedFor) return;
    this.hashedFor = req;
    const text = req.promptText ?? '';
    const size = this.opts.blockSize;
    this.blocks = Math.min(Math.floor(text.length / size), this.opts.maxBlocks);
    let h = req.model === undefined ? 0 : hash32(req.model);
    for (let i = 0; i < this.blocks; i++) {
      h = hash53(text, h, i * size, (i + 1) * size);
      this.hashes[i] = h;
    }
  }

  private imbalanced(candidates: readonly BackendView[]): boolean {
    let min = Infinity;
    let max = -Infinity;
    for (const b of candidates) {
      if (b.inflight < min) min = b.inflight;
      if (b.inflight > max) max = b.inflight;
    }
    return max - min > this.opts.balanceAbs && max > this.opts.balanceRel * min;
  }
}
