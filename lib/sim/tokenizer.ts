// The simulator's tokenizer (spec §4): deterministic and identical on every backend, so
// the same text gives the same token ids, hence the same KV block hashes, everywhere.
// Text is split into special tokens (`<|role|>`), words and single punctuation marks;
// whitespace is dropped. A token id is the FNV-1a hash of its piece. Prompts given as
// token ids are used as they are.

const PIECE = /<\|[^|\s]{1,32}\|>|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

const idCache = new Map<string, number>();
const ID_CACHE_MAX = 200_000;

/** FNV-1a, 32 bits, of a string's UTF-16 code units. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function tokenId(piece: string): number {
  let id = idCache.get(piece);
  if (id === undefined) {
    id = fnv1a(piece);
    if (idCache.size >= ID_CACHE_MAX) idCache.clear();
    idCache.set(piece, id);
  }
  return id;
}

export function pieces(text: string): string[] {
  return text.match(PIECE) ?? [];
}

/** Token ids of `text`: the ids of pieces(text), computed in one pass for ASCII text. */
export function tokenize(text: string): number[] {
  const out: number[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 128) return tokenizeRegex(text); // non-ASCII: let the Unicode regex decide
    if (c === 32 || (c >= 9 && c <= 13)) {
      i++;
      continue;
    }
    if (WORD[c]) {
      let h = 0x811c9dc5;
      let j = i;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 128) return tokenizeRegex(text);
        if (!WORD[d]) break;
        h = Math.imul(h ^ d, 0x01000193);
      }
      out.push(h >>> 0);
      i = j;
      continue;
    }
    if (c === 60 /* < */ && text.charCodeAt(i + 1) === 124 /* | */) {
      // special token <|name|>: 1–32 characters other than "|" and whitespace
      let j = i + 2;
      while (j < n && j - i - 2 <= 32) {
        const d = text.charCodeAt(j);
        if (d === 124 || d === 32 || (d >= 9 && d <= 13) || d >= 128) break;
        j++;
      }
      if (j > i + 2 && j - i - 2 <= 32 && text.charCodeAt(j) === 124 && text.charCodeAt(j + 1) === 62 /* > */) {
        out.push(tokenId(text.slice(i, j + 2)));
        i = j + 2;
        continue;
      }
    }
    out.push(Math.imul(0x811c9dc5 ^ c, 0x01000193) >>> 0); // one punctuation mark
    i++;
  }
  return out;
}

const WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) WORD[c] = /[A-Za-z0-9_]/.test(String.fromCharCode(c)) ? 1 : 0;

function tokenizeRegex(text: string): number[] {
  const out: number[] = [];
  PIECE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = PIECE.exec(text)) !== null) out.push(tokenId(m[0]));
  return out;
}

export interface ChatMessage {
  role: string;
  content?: unknown;
}

/** The text of a message's content: a string, or the `text` parts of a content array. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let s = '';
    for (const part of content) {
      if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
        s += (s ? '\n' : '') + (part as { text: string }).text;
      }
    }
    return s;
  }
  return '';
}

/**
 * The chat template: `<|role|>\n{content}\n` per message, then `<|assistant|>\n`.
 * Shared system prompts therefore give shared token prefixes. The proxy's prefix-affinity
 * scorer renders the same text (lib/scheduling/types.ts, SchedulingRequest.promptText).
 */
export function renderChat(messages: readonly ChatMessage[]): string {
  let s = '';
  for (const m of messages) s += `<|${m.role}|>\n${contentText(m.content)}\n`;
  return s + '<|assistant|>\n';
}

// A small lexicon for generated text. Each word is one token of the tokenizer above, so
// the generated text re-tokenizes to the same ids (a later turn that quotes the answer
// hits the blocks cached while generating it).
export const LEXICON: readonly string[] = Array.from(new Set((
  'the of and to in is that for it as with was on be by this are from at or an have not ' +
  'which but all were when we there can more one has been if their its also would will ' +
  'about into than other only time these some could two them may after then first new ' +
  'most over such where between any many through those both each used under while under ' +
  'system model token cache batch queue router request server latency memory block prefix ' +
  'engine stream value result order number state point group level place data power case ' +
  'world market region zone weight signal metric health route pool backend answer reason ' +
  'simple quick steady bright quiet clear early late small large green blue red amber north ' +
  'south east west river stone cloud light field signal garden harbor bridge valley forest'
).split(' ')));

export const LEXICON_IDS: readonly number[] = LEXICON.map(tokenId);
