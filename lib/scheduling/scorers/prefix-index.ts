// Approximate index of which backend recently received which prompt prefix, in the manner
// of llm-d's approximate prefix-cache scorer: the prompt is cut into fixed-size blocks, each
// block's hash is chained on the previous one (so equal hashes mean equal prefixes), and each
// block hash remembers the backends it was last sent to and when.
//
// Bounds: at most `maxEntries` block hashes (least recently refreshed evicted first), each
// with at most `maxHolders` backends (the oldest replaced). Holders older than `ttl` are
// ignored: the engine has likely evicted those KV blocks by then.
import type { BackendView } from '../types';
import { SlotTable, grow } from '../slots';

export interface PrefixIndexOptions {
  maxEntries: number;
  maxHolders: number;
  ttl: number;
}

interface Entry {
  /** Backend slots holding this block, and when each last received it (ms). */
  slots: number[];
  at: number[];
  /** When the entry last moved to the recent end of the eviction order. */
  touched: number;
}

export class PrefixIndex {
  private readonly entries = new Map<number, Entry>();
  private readonly slots = new SlotTable();
  // Per slot: the candidate index it has in the current match(), valid when stamp = cycle.
  private candidateOf = new Int32Array(64);
  private stamp = new Float64Array(64);
  private cycle = 0;

  constructor(private readonly opts: PrefixIndexOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * For each candidate, how many leading blocks of `hashes[0, n)` it likely holds, into
   * `out[0, candidates.length)`. Stops at the first block no candidate holds.
   */
  match(hashes: Float64Array, n: number, candidates: readonly BackendView[], out: Float64Array, now: number): void {
    out.fill(0, 0, candidates.length);
    if (n === 0 || !this.entries.has(hashes[0]!)) return;
    this.cycle++;
    this.candidateOf = grow(this.candidateOf, this.slots.capacity);
    this.stamp = grow(this.stamp, this.slots.capacity);
    for (let c = 0; c < candidates.length; c++) {
      const s = this.slots.peek(candidates[c]!.id);
      if (s === undefined) continue;
      this.candidateOf[s] = c;
      this.stamp[s] = this.cycle;
    }
    const oldest = now - this.opts.ttl;
    for (let i = 0; i < n; i++) {
      const e = this.entries.get(hashes[i]!);
      if (e === undefined) return;
      let advanced = false;
      for (let k = 0; k < e.slots.length; k++) {
        const s = e.slots[k]!;
        if (e.at[k]! < oldest || this.stamp[s] !== this.cycle) continue;
        const c = this.candidateOf[s]!;
        if (out[c] === i) {
          out[c] = i + 1;
          advanced = true;
        }
      }
      if (!advanced) return;
    }
  }

  /** Records that `id` received the blocks `hashes[0, n)` at `now`. */
  insert(hashes: Float64Array, n: number, id: string, now: number): void {
    const slot = this.slots.slot(id);
    const refreshAfter = this.opts.ttl / 8; // reorder rarely: hot entries cost no Map churn
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      const e = this.entries.get(h);
      if (e === undefined) {
        this.entries.set(h, { slots: [slot], at: [now], touched: now });
        if (this.entries.size > this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
        continue;
      }
      this.hold(e, slot, now);
      if (now - e.touched > refreshAfter) {
        e.touched = now;
        this.entries.delete(h);
        this.entries.set(h, e);
      }
    }
  }

  /** Forgets a backend that left the pool; O(entries), on membership change only. */
  remove(id: string): void {
    const slot = this.slots.release(id);
    if (slot === undefined) return;
    for (const [h, e] of this.entries) {
      const k = e.slots.indexOf(slot);
      if (k < 0) continue;
      e.slots.splice(k, 1);
      e.at.splice(k, 1);
      if (e.slots.length === 0) this.entries.delete(h);
    }
  }

  private hold(e: Entry, slot: number, now: number): void {
    let k = e.slots.indexOf(slot);
    if (k < 0 && e.slots.length < this.opts.maxHolders) {
      e.slots.push(slot);
      e.at.push(now);
      return;
    }
    if (k < 0) {
      k = 0;
      for (let j = 1; j < e.at.length; j++) if (e.at[j]! < e.at[k]!) k = j;
      e.slots[k] = slot;
    }
    e.at[k] = now;
  }
}
