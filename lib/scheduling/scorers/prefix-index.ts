// Approximate index of which backend recently received which prompt prefix, in the manner
// of llm-d's approximate prefix-cache scorer: the prompt is cut into fixed-size blocks, each
// block's hash is chained on the previous one (so equal hashes mean equal prefixes), and each
// block hash remembers the backends it was last sent to and when.
//
// Bounds: at most `maxEntries` block hashes (least recently refreshed evicted first), each
// with at most `maxHolders` backends (the oldest replaced). Holders older than `ttl` are
// ignored: the engine has likely evicted those KV blocks by then.
//
// Footprint: per backend, the number of (block, backend) records the index holds, the
// stand-in for how much of the index (SGLang: its tree) a backend owns. Kept exact at every
// change: +1 when a backend is recorded for a block, −1 when that record goes, whether
// replaced (max_holders), evicted (max_entries), expired, or its backend removed. Expiry:
// an entry whose every holder is older than `ttl` is dropped from the old end of the
// eviction order on the next insert() or expire() (at most ttl/8 after it expired, as the
// order is refreshed every ttl/8); an expired holder of a live entry goes when that entry
// next receives a prompt, and until then still counts.
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
  /** max(at): the entry has expired when this is older than ttl. */
  last: number;
}

export class PrefixIndex {
  private readonly entries = new Map<number, Entry>();
  private readonly slots = new SlotTable();
  /** Per slot: its footprint (records held). */
  private counts = new Float64Array(64);
  // Per slot: the candidate index it has in the current match(), valid when stamp = cycle.
  private candidateOf = new Int32Array(64);
  private stamp = new Float64Array(64);
  private cycle = 0;

  constructor(private readonly opts: PrefixIndexOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Records held for `id` (0 for a backend never recorded). */
  footprint(id: string): number {
    const s = this.slots.peek(id);
    return s === undefined ? 0 : this.counts[s]!;
  }

  /** footprint() of each candidate, into `out[0, candidates.length)`. */
  footprints(candidates: readonly BackendView[], out: Float64Array): void {
    for (let c = 0; c < candidates.length; c++) {
      const s = this.slots.peek(candidates[c]!.id);
      out[c] = s === undefined ? 0 : this.counts[s]!;
    }
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
    this.expire(now);
    const slot = this.slots.slot(id);
    this.counts = grow(this.counts, this.slots.capacity);
    const refreshAfter = this.opts.ttl / 8; // reorder rarely: hot entries cost no Map churn
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      const e = this.entries.get(h);
      if (e === undefined) {
        this.entries.set(h, { slots: [slot], at: [now], touched: now, last: now });
        this.counts[slot]++;
        if (this.entries.size > this.opts.maxEntries) this.drop(this.entries.keys().next().value!);
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

  /** Drops the entries at the old end of the eviction order whose every holder is older than ttl. */
  expire(now: number): void {
    const oldest = now - this.opts.ttl;
    for (const [h, e] of this.entries) {
      if (e.last >= oldest) return;
      this.drop(h);
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
    this.counts[slot] = 0; // every record of the slot is gone; the slot may be handed out again
  }

  private drop(h: number): void {
    const e = this.entries.get(h)!;
    for (const s of e.slots) this.counts[s]--;
    this.entries.delete(h);
  }

  private hold(e: Entry, slot: number, now: number): void {
    const oldest = now - this.opts.ttl;
    for (let j = e.at.length - 1; j >= 0; j--) {
      if (e.at[j]! >= oldest) continue;
      this.counts[e.slots[j]!]--;
      e.slots.splice(j, 1);
      e.at.splice(j, 1);
    }
    e.last = now;
    let k = e.slots.indexOf(slot);
    if (k < 0 && e.slots.length < this.opts.maxHolders) {
      e.slots.push(slot);
      e.at.push(now);
      this.counts[slot]++;
      return;
    }
    if (k < 0) {
      k = 0;
      for (let j = 1; j < e.at.length; j++) if (e.at[j]! < e.at[k]!) k = j;
      this.counts[e.slots[k]!]--;
      this.counts[slot]++;
      e.slots[k] = slot;
    }
    e.at[k] = now;
  }
}
