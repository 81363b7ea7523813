// Prefix affinity: scores each candidate by the share of the prompt's leading blocks it
// likely holds in its KV cache (matched blocks / prompt blocks, in [0,1]), from an
// approximate index of where earlier prompts were sent (prefix-index.ts). After the pick, the
// prompt's blocks are recorded for the chosen backend.
//
// Guards, after the SGLang gateway's cache_aware policy:
// - Imbalance: when (max − min) in-flight over the candidates exceeds `balance_abs` AND
//   max > `balance_rel` × min, every candidate scores 0, so the load scorers of the profile
//   decide (SGLang defaults: 64 and 1.5).
// - Saturation: a saturated candidate scores 0 when another candidate is not saturated
//   (its cache is of no use if it cannot take the work while others can). The request goes
//   elsewhere, that backend is recorded as holding the prompt, and later turns, whose
//   prompts extend this one, match it longer and follow it there. When every candidate is
//   saturated (a burst loads them all alike) the test says nothing and affinity decides:
//   moving the request would cost a re-prefill and gain no queue.
//
// Blocks are `block_size` UTF-16 characters of SchedulingRequest.promptText (64 ≈ 16 tokens,
// vLLM's block), chained from a seed of the model name so models never share entries; at
// most `max_blocks` per prompt are considered. Without promptText, or with a prompt shorter
// than one block, every candidate scores 0 and nothing is recorded.
import { hash32, hash53 } from '../hash';
import { isSaturated, type SaturationLimits } from '../signals/load';
import type { BackendForgetter, BackendView, PostPick, Scorer, SchedulingRequest } from '../types';
import { PrefixIndex, type PrefixIndexOptions } from './prefix-index';

export interface PrefixAffinityOptions extends PrefixIndexOptions {
  blockSize: number;
  maxBlocks: number;
  balanceAbs: number;
  balanceRel: number;
  limits: SaturationLimits;
}

export class PrefixAffinityScorer implements Scorer, PostPick, BackendForgetter {
  readonly name = 'prefix-affinity';
  readonly index: PrefixIndex;
  private readonly hashes: Float64Array;
  private blocks = 0;
  /** The request whose blocks are in `hashes`: score() and onPick() hash a prompt once. */
  private hashedFor: SchedulingRequest | undefined;

  constructor(private readonly opts: PrefixAffinityOptions) {
    this.index = new PrefixIndex(opts);
    this.hashes = new Float64Array(opts.maxBlocks);
  }

  private anyUnsaturated(candidates: readonly BackendView[], now: number): boolean {
    for (const c of candidates) if (!isSaturated(c, now, this.opts.limits)) return true;
    return false;
  }

  score(req: SchedulingRequest, candidates: readonly BackendView[], out: Float64Array, _state: unknown, now: number): void {
    const n = candidates.length;
    this.hashPrompt(req);
    if (this.blocks === 0 || this.imbalanced(candidates)) {
      out.fill(0, 0, n);
      return;
    }
    this.index.match(this.hashes, this.blocks, candidates, out, now);
    let saturated = 0;
    for (let i = 0; i < n; i++) if (out[i] !== 0 && isSaturated(candidates[i]!, now, this.opts.limits)) saturated++;
    const shed = saturated > 0 && this.anyUnsaturated(candidates, now);
    for (let i = 0; i < n; i++) {
      out[i] = out[i] === 0 || (shed && isSaturated(candidates[i]!, now, this.opts.limits)) ? 0 : out[i]! / this.blocks;
    }
  }

  onPick(req: SchedulingRequest, picked: BackendView, _state: unknown, now: number): void {
    this.hashPrompt(req);
    this.index.insert(this.hashes, this.blocks, picked.id, now);
  }

  removeBackend(id: string): void {
    this.index.remove(id);
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
