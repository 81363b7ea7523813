// Block-level KV cache with automatic prefix caching, after vLLM V1
// (vllm/v1/core/block_pool.py, docs.vllm.ai design/prefix_caching):
// - only full blocks are hashed: h_i = H(h_{i-1}, tokens of block i, model salt);
// - blocks whose reference count drops to 0 go to an LRU free queue, a request's blocks
//   tail-first (its last block is evicted first); a cached block in the queue can still be
//   hit, which takes it out of the queue;
// - allocation pops the queue head and, if that block was cached, drops its hash (eviction).

export type KvEvent =
  | {
      type: 'BlockStored';
      block_hashes: number[];
      parent_block_hash: number | null;
      token_ids: number[];
      block_size: number;
      lora_id: null;
      model: string;
    }
  | { type: 'BlockRemoved'; block_hashes: number[] }
  | { type: 'AllBlocksCleared'; model?: string };

const NO_HASH = -1;

export class Block {
  hash = NO_HASH;
  ref = 0;
  model = '';
  prev: Block | null = null;
  next: Block | null = null;
  inFree = false;
}

// --- hashing ------------------------------------------------------------------------------
// Two murmur3-style 32-bit lanes folded into a 53-bit integer: exact as a JS number and a
// cheap Map key, collisions negligible at simulator scale.
function mixK(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}
function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash of the block tokens[start, end) chained to `parent` (0 for the first block). */
export function blockHash(parent: number, tokens: ArrayLike<number>, start: number, end: number, salt: number): number {
  const lo = parent >>> 0;
  const hi = Math.floor(parent / 4294967296) >>> 0;
  let a = mixH(mixH(mixH(0x2545f491, salt), lo), hi);
  let b = mixH(mixH(mixH(0x9e3779b9, hi), salt), lo);
  for (let i = start; i < end; i++) {
    const t = tokens[i]! | 0;
    a = mixH(a, t);
    b = mixH(b, t ^ 0x5bd1e995);
  }
  a = fmix(a ^ (end - start));
  b = fmix(b ^ (end - start) ^ 0x27d4eb2f);
  return (a >>> 11) * 4294967296 + b;
}

// --- pool ---------------------------------------------------------------------------------
export class BlockPool {
  readonly blockSize: number;
  /** Blocks that exist now (may exceed the target while `debt` > 0). */
  total = 0;
  /** Blocks in the free queue (empty or cached with refcount 0): allocatable. */
  freeCount = 0;
  /** Blocks still to drop after a shrink, taken from blocks as they are freed. */
  private debt = 0;
  private readonly head = new Block();
  private readonly tail = new Block();
  private readonly cached = new Map<number, Block>();
  /** Set by whoever wants KV events (the /sim/kv-events stream); null = no cost. */
  onEvent: ((e: KvEvent) => void) | null = null;
  evictions = 0;

  constructor(blockSize: number, numBlocks: number) {
    this.blockSize = blockSize;
    this.head.next = this.tail;
    this.tail.prev = this.head;
    this.resize(numBlocks);
  }

  get cachedBlocks(): number {
    return this.cached.size;
  }
  get targetBlocks(): number {
    return this.total - this.debt;
  }

  /** vLLM's get_usage(): 1 − free/total, cached blocks with refcount 0 counting as free. */
  usage(): number {
    const total = this.targetBlocks;
    if (total <= 0) return 1;
    return Math.min(1, Math.max(0, 1 - this.freeCount / total));
  }

  lookup(hash: number): Block | undefined {
    return this.cached.get(hash);
  }

  /** Take a reference on a cached block (a prefix hit); takes it out of the free queue. */
  touch(b: Block): void {
    if (b.ref === 0 && b.inFree) {
      this.unlink(b);
      this.freeCount--;
    }
    b.ref++;
  }

  /** Pop the LRU head of the free queue; drops its hash if it was cached. Caller checks freeCount. */
  allocate(): Block {
    const b = this.head.next!;
    if (b === this.tail) throw new Error('KV pool exhausted');
    this.unlink(b);
    this.freeCount--;
    this.dropHash(b);
    b.ref = 1;
    return b;
  }

  /** Release a request's blocks, last block first (it is evicted before the prefix). */
  release(blocks: readonly Block[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      if (--b.ref > 0) continue;
      if (this.debt > 0) {
        this.dropHash(b);
        this.debt--;
        this.total--;
        continue;
      }
      this.pushTail(b);
      this.freeCount++;
    }
  }

  /** Register a computed full block under its hash (first writer wins, as a duplicate stays uncached). */
  cache(b: Block, hash: number, model: string, parent: number, tokens: ArrayLike<number>, start: number): boolean {
    if (b.hash !== NO_HASH || this.cached.has(hash)) return false;
    b.hash = hash;
    b.model = model;
    this.cached.set(hash, b);
    if (this.onEvent) {
      const ids: number[] = [];
      for (let i = start; i < start + this.blockSize; i++) ids.push(tokens[i]!);
      this.onEvent({
        type: 'BlockStored',
        block_hashes: [hash],
        parent_block_hash: parent === 0 ? null : parent,
        token_ids: ids,
        block_size: this.blockSize,
        lora_id: null,
        model,
      });
    }
    return true;
  }

  /** Forget every cached hash (of one model, or all): a model unload or a cold restart. */
  clear(model?: string): void {
    for (const [h, b] of this.cached) {
      if (model === undefined || b.model === model) {
        this.cached.delete(h);
        b.hash = NO_HASH;
      }
    }
    this.onEvent?.({ type: 'AllBlocksCleared', ...(model !== undefined ? { model } : {}) });
  }

  /** Grow or shrink to `n` blocks. Shrinking takes free blocks now and the rest as they are freed. */
  resize(n: number): void {
    n = Math.max(0, Math.floor(n));
    const target = this.total - this.debt;
    if (n > target) {
      let add = n - target;
      const pay = Math.min(this.debt, add);
      this.debt -= pay;
      add -= pay;
      for (let i = 0; i < add; i++) {
        const b = new Block();
        this.pushHead(b);
        this.freeCount++;
        this.total++;
      }
      return;
    }
    let remove = target - n;
    while (remove > 0 && this.freeCount > 0) {
      const b = this.head.next!;
      this.unlink(b);
      this.freeCount--;
      this.dropHash(b);
      this.total--;
      remove--;
    }
    this.debt += remove;
  }

  /** Hashes of the free queue from the LRU head (-1 = uncached), for tests. */
  freeQueueHashes(limit = Infinity): number[] {
    const out: number[] = [];
    for (let b = this.head.next!; b !== this.tail && out.length < limit; b = b.next!) out.push(b.hash);
    return out;
  }

  private dropHash(b: Block): void {
    if (b.hash === NO_HASH) return;
    if (this.cached.get(b.hash) === b) {
      this.cached.delete(b.hash);
      this.evictions++;
      this.onEvent?.({ type: 'BlockRemoved', block_hashes: [b.hash] });
    }
    b.hash = NO_HASH;
  }
  private unlink(b: Block): void {
    b.prev!.next = b.next;
    b.next!.prev = b.prev;
    b.prev = b.next = null;
    b.inFree = false;
  }
  private pushTail(b: Block): void {
    const last = this.tail.prev!;
    last.next = b;
    b.prev = last;
    b.next = this.tail;
    this.tail.prev = b;
    b.inFree = true;
  }
  private pushHead(b: Block): void {
    const first = this.head.next!;
    this.head.next = b;
    b.prev = this.head;
    b.next = first;
    first.prev = b;
    b.inFree = true;
  }
}
