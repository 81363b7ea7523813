// The three workloads of shared/reference/simulator.md §7, as streams of chat requests.
// Text is made of seeded pseudo-words: the simulator's tokenizer makes one token of each
// word, so "2,048 tokens" is 2,048 words.
//
// `seed` fixes a workload's structure (lengths, order, arrivals' session choice) and `salt`
// its words: runs with one seed and different salts offer the same load with nothing cached.
//
// A workload hands out requests one at a time (`next`) and hears how each ended (`done`):
// the multi-turn chat needs the reply to build the session's next turn, the others ignore it.

export interface ChatRequest {
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** Index of the session (chat) this turn belongs to. */
  session?: number;
  /** Index of the shared-prefix group (W1) the prompt belongs to. */
  group?: number;
}

export interface Workload {
  /** The next request (a promise when it must wait, e.g. for the answer it follows), or undefined when there is none left. */
  next(): ChatRequest | Promise<ChatRequest> | undefined;
  done(req: ChatRequest, reply: string | undefined): void;
  /** Whether the load generator must collect the reply text for `done`. */
  readonly wantsReply: boolean;
}

/** A fixed list of independent requests: each is ready at once. */
export interface ListWorkload extends Workload {
  next(): ChatRequest | undefined;
}

export const MODEL = 'llama-3-8b';

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator of a workload's words. */
const textRng = (seed: number, salt: number) => rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0);

/** `n` one-token pseudo-words ("k3x9q …"), about 5.5 characters per token. */
function words(rand: () => number, n: number): string {
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 0x7fffffff).toString(36).slice(0, 3 + Math.floor(rand() * 4));
  return out.join(' ');
}

/** Log-normal with the given mean and σ of the underlying normal, rounded, clipped to [lo, hi]. */
function lognormal(rand: () => number, mean: number, sigma: number, lo: number, hi: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const v = Math.round(mean * Math.exp(sigma * z - (sigma * sigma) / 2));
  return Math.min(hi, Math.max(lo, v));
}

function body(messages: { role: string; content: string }[], maxTokens: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: MODEL,
    messages,
    max_tokens: maxTokens,
    ignore_eos: true, // output lengths are the workload's, whatever the backend draws
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  };
}

/** A fixed list of independent requests, handed out in order. */
function listWorkload(list: ChatRequest[]): ListWorkload {
  let i = 0;
  return { next: () => list[i++], done: () => {}, wantsReply: false };
}

export interface W1Shape {
  groups: number;
  perGroup: number;
  systemTokens: number;
  questionTokens: number;
  outputTokens: number;
}

/** W1 (SGLang generated-shared-prefix): groups share a long system prompt; shuffled, as sent at once. */
export function sharedPrefix(shape: W1Shape, seed: number, salt = 0): ListWorkload {
  const rand = rng(seed);
  const text = textRng(seed, salt);
  const list: ChatRequest[] = [];
  for (let g = 0; g < shape.groups; g++) {
    const system = words(text, shape.systemTokens);
    for (let q = 0; q < shape.perGroup; q++) {
      const messages = [
        { role: 'system', content: system },
        { role: 'user', content: words(text, shape.questionTokens) },
      ];
      list.push({ body: body(messages, shape.outputTokens), headers: {}, group: g });
    }
  }
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return listWorkload(list);
}

export interface NoPrefixShape {
  requests: number;
  /** ShareGPT means (vLLM blog 2024-09-05): 202 in, 179 out. */
  meanIn: number;
  meanOut: number;
}

/** Independent prompts with ShareGPT-like lengths: nothing to share, nothing to stick to. */
export function noPrefix(shape: NoPrefixShape, seed: number, salt = 0): ListWorkload {
  const rand = rng(seed);
  const text = textRng(seed, salt);
  const list: ChatRequest[] = [];
  for (let i = 0; i < shape.requests; i++) {
    const input = lognormal(rand, shape.meanIn, 0.8, 8, 2048);
    const output = lognormal(rand, shape.meanOut, 0.8, 4, 1024);
    list.push({ body: body([{ role: 'user', content: words(text, input) }], output), headers: {} });
  }
  return listWorkload(list);
}

export interface ChatShape {
  /** Conversations, all open from the start. */
  sessions: number;
  /** Turns per conversation; after the last, the session starts a new conversation. */
  turns: number;
  systemTokens: number;
  userTokens: number;
  outputTokens: number;
}

interface Session {
  key: string;
  text: () => number;
  messages: { role: string; content: string }[];
  /** Settles when the session's latest scheduled turn has been answered. */
  tail: Promise<void>;
}

/**
 * Multi-turn chat: each session has its own system prompt and sends `turns` turns, each the
 * whole conversation so far plus a new user message, so its prefix grows by the previous
 * reply and question. The session key goes in `x-session-id` and in the body's `user`.
 *
 * Arrival k is a turn of a session fixed in advance (the sessions in a seeded random order,
 * again and again), so every strategy gets the same conversations at the same depths. A
 * turn whose session still waits for its previous answer is held until that answer (a user
 * cannot write before the reply), so `next` may return a promise.
 */
export function multiTurnChat(shape: ChatShape, seed: number, salt = 0): Workload {
  const rand = rng(seed);
  const generations: number[] = new Array(shape.sessions).fill(0);
  // Each conversation draws its own words: they do not depend on when its turns are built.
  const open = (i: number): Session => {
    const text = textRng(seed * 100_003 + i * 1_009 + generations[i]!, salt);
    return {
      key: `s${seed}.${salt}-${i}.${generations[i]}`,
      text,
      messages: [{ role: 'system', content: words(text, shape.systemTokens) }],
      tail: Promise.resolve(),
    };
  };
  const sessions = Array.from({ length: shape.sessions }, (_, i) => open(i));
  const release = new Map<ChatRequest, () => void>();
  let order: number[] = [];
  const nextSession = () => {
    if (order.length === 0) {
      order = Array.from({ length: shape.sessions }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    return order.pop()!;
  };
  const restart = (i: number) => {
    generations[i]!++;
    const tail = sessions[i]!.tail;
    sessions[i] = { ...open(i), tail };
  };
  return {
    wantsReply: true,
    next() {
      const i = nextSession();
      const previous = sessions[i]!.tail;
      let done!: () => void;
      sessions[i]!.tail = new Promise<void>((resolve) => (done = resolve));
      return previous.then(() => {
        const s = sessions[i]!;
        s.messages.push({ role: 'user', content: words(s.text, shape.userTokens) });
        const req: ChatRequest = { body: body(s.messages.slice(), shape.outputTokens, { user: s.key }), headers: { 'x-session-id': s.key }, session: i };
        release.set(req, done);
        return req;
      });
    },
    done(req, reply) {
      const i = req.session!;
      const s = sessions[i]!;
      if (reply === undefined || s.messages.length >= 2 * shape.turns) restart(i);
      else s.messages.push({ role: 'assistant', content: reply });
      release.get(req)?.();
      release.delete(req);
    },
  };
}
