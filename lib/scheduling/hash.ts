// Stable, fast, non-cryptographic string hashing for placement decisions (session
// rendezvous, prefix block chains). Output depends only on the input's UTF-16 code units and
// the seed, so every Switchyard instance, on any platform, computes the same value: that is
// what makes affinity agree across instances without coordination.
//
// The mixing steps are MurmurHash3's (x86_32 body and finaliser), applied to two UTF-16
// units per 32-bit word. node:crypto is ~20× slower for the short inputs used here
// (see `npm run bench:scheduler`), and collision resistance against adversaries is not
// needed: a collision only costs a cache miss.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3's finaliser: full avalanche of a 32-bit value. Returns an unsigned int. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function round(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** 32-bit hash (unsigned) of `s[start, end)`. */
export function hash32(s: string, seed = 0, start = 0, end = s.length): number {
  let h = seed | 0;
  let i = start;
  for (; i + 1 < end; i += 2) h = round(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < end) h = round(h, s.charCodeAt(i));
  return fmix32(h ^ (end - start));
}

const TWO32 = 0x1_0000_0000;
const HI_MASK = 0x1f_ffff; // 21 bits: hi·2³² + lo stays a safe integer (< 2⁵³)

/**
 * 53-bit hash of `s[start, end)` chained on `prev` (a previous hash53, or 0): two
 * independent 32-bit lanes, seeded from `prev`'s halves, in one pass. Used for prefix block
 * chains, where a 32-bit space would make false prefix hits likely in an index of ~10⁵ blocks.
 */
export function hash53(s: string, prev: number, start = 0, end = s.length): number {
  let lo = prev % TWO32 | 0;
  let hi = Math.floor(prev / TWO32) ^ 0x9e3779b9;
  let i = start;
  for (; i + 1 < end; i += 2) {
    const k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    lo = round(lo, k);
    hi = round(hi, k ^ 0x5bd1e995);
  }
  if (i < end) {
    lo = round(lo, s.charCodeAt(i));
    hi = round(hi, s.charCodeAt(i) ^ 0x5bd1e995);
  }
  const len = end - start;
  return (fmix32(hi ^ len) & HI_MASK) * TWO32 + fmix32(lo ^ len);
}
