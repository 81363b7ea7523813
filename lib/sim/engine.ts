// The engine of one simulated backend: a pure discrete-event model (no I/O, no timers) of a
// vLLM V1 engine on a virtual clock in model milliseconds. Its owner calls `advanceTo(t)`
// with the current model time; every step that ends by then is completed and its tokens are
// handed to the requests' sinks with their model timestamps. Tests drive it directly with
// a virtual clock; lib/sim/clock.ts maps it to real time.
//
// Per step (spec §4, vLLM V1 scheduler with chunked prefill):
//   1. budget = max_num_batched_tokens;
//   2. each running decode takes 1 token; a decode that needs a new block when none is free
//      preempts the newest running request (RECOMPUTE: its blocks are freed and it goes back
//      to the head of the queue);
//   3. the rest goes to prefill chunks of running requests, then to FCFS admissions; a request
//      is admitted when running < max_num_seqs and the free queue (cached blocks with
//      refcount 0 count as free) covers its uncached prompt plus one block;
//   4. step time = (T0 + a·decodes + b·prefill_tokens + c·KV_read/1000) × jitter × slowdown;
//   5. at the end of the step, computed full blocks are hashed into the prefix cache (so
//      identical requests scheduled in the same step all pay prefill), and every request
//      whose prompt is complete or that decoded emits one token.
import { Block, BlockPool, blockHash, type KvEvent } from './kvcache';
import { Histogram, REQUEST_LATENCY_BUCKETS, TPOT_BUCKETS, TTFT_BUCKETS } from './histogram';
import { kvCapacityFor, loadTimeMs, type Profile } from './profiles';
import { Rng } from './rng';
import { LEXICON, LEXICON_IDS, fnv1a, tokenId } from './tokenizer';

export type FinishReason = 'stop' | 'length';
export type ModelStateName = 'unloaded' | 'loading' | 'loaded';

export const enum ReqState {
  Pending, // API-server overhead (and any injected stall) not yet elapsed
  ModelWait, // its model is not loaded
  Waiting, // in the scheduler's queue
  Running,
  Done,
  Aborted,
}

/** Where the engine delivers a request's output. Called from inside advanceTo(). */
export interface RequestSink {
  /** One generated token; `finish` is set on the last one. `t` is the model time (ms). */
  token(req: EngineRequest, text: string, finish: FinishReason | null, t: number): void;
  /** The engine dropped the request (simulated crash). */
  dropped?(req: EngineRequest, reason: string): void;
}

export interface ModelSpec {
  name: string;
  weightsGB: number;
}

export interface EngineOptions {
  profile: Profile;
  /** Models this backend can serve; the first `maxLoadedModels` are resident at start. */
  models?: ModelSpec[];
  maxLoadedModels?: number;
  /** Fixed KV capacity in tokens; by default derived from the profile and resident weights. */
  kvCapacityTokens?: number;
  blockSize?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  seed?: number;
  mode?: 'random' | 'echo';
  /** Standard deviation of the step-time jitter, in % (spec: N(1, 0.05)). 0 = none. */
  jitterPct?: number;
  slowdown?: number;
  /** Per-request API-server overhead, model ms; default from the profile. */
  overheadMs?: number;
  /** The initial models finish loading at this model time (0 = resident at once). */
  startupMs?: number;
  /** Seed of the prefix-cache hash chain (vLLM's PYTHONHASHSEED / hash seed). */
  hashSeed?: number;
  /** Mean of the log-normal output length when ignore_eos is off (spec: 180). */
  meanOutputTokens?: number;
}

export interface SubmitParams {
  model: string;
  promptTokens: number[];
  /** Default: max_model_len − prompt length (as vLLM). */
  maxTokens?: number;
  ignoreEos?: boolean;
  /** Echo mode: the text pieces to repeat. */
  echoPieces?: string[];
  /** Injected stall before the scheduler sees the request, model ms. */
  extraDelayMs?: number;
  sink?: RequestSink;
  id?: string;
}

export class ModelStats {
  promptTokens = 0;
  generationTokens = 0;
  prefixQueries = 0;
  prefixHits = 0;
  preemptions = 0;
  finishedStop = 0;
  finishedLength = 0;
  aborted = 0;
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly itl = new Histogram(TPOT_BUCKETS);
  readonly tpot = new Histogram(TPOT_BUCKETS);
  readonly e2e = new Histogram(REQUEST_LATENCY_BUCKETS);
  readonly queue = new Histogram(REQUEST_LATENCY_BUCKETS);
}

export class ModelState {
  state: ModelStateName = 'unloaded';
  loadDoneAt = 0;
  lastUsed = 0;
  /** Requests of this model inside the engine (any state before done/aborted). */
  active = 0;
  wantLoad = false;
  /** Requests that arrived while the model was not loaded, in arrival order. */
  readonly blocked: EngineRequest[] = [];
  readonly salt: number;
  readonly stats = new ModelStats();
  loads = 0;

  constructor(
    readonly name: string,
    readonly weightsGB: number,
    hashSeed: number,
  ) {
    this.salt = fnv1a(name, (0x811c9dc5 ^ hashSeed) >>> 0);
  }
}

export class EngineRequest {
  state = ReqState.Pending;
  readonly tokens: number[];
  readonly promptLen: number;
  /** Tokens whose KV is computed. */
  numComputed = 0;
  /** Tokens to prefill before decoding: the prompt, or all tokens after a preemption. */
  computeTarget: number;
  blocks: Block[] = [];
  /** Hash per full block of `tokens`, computed lazily. */
  readonly hashes: number[] = [];
  /** Blocks [0, cachedUpTo) are in the prefix cache (hit or registered). */
  cachedUpTo = 0;
  output = 0;
  /** Prompt tokens served from the prefix cache at first admission (usage.cached_tokens). */
  cachedTokens = 0;
  admitted = false;
  firstTokenAt = -1;
  lastTokenAt = -1;
  finishedAt = -1;
  finishReason: FinishReason | undefined;
  /** Tokens of this request in the step in flight. */
  stepTokens = 0;
  preemptions = 0;
  readyAt: number;

  constructor(
    readonly id: string,
    readonly model: ModelState,
    prompt: number[],
    readonly maxTokens: number,
    readonly targetTokens: number,
    readonly arrival: number,
    readonly sink: RequestSink | undefined,
    readonly echoPieces: string[] | undefined,
  ) {
    this.tokens = prompt.slice();
    this.promptLen = prompt.length;
    this.computeTarget = prompt.length;
    this.readyAt = arrival;
  }
}

/** FCFS queue with O(1) push/shift/unshift (preempted requests go back to the head). */
class Queue<T> {
  private a: (T | undefined)[] = [];
  private h = 0;
  get length(): number {
    return this.a.length - this.h;
  }
  push(x: T): void {
    this.a.push(x);
  }
  unshift(x: T): void {
    if (this.h > 0) this.a[--this.h] = x;
    else this.a.unshift(x);
  }
  peek(): T | undefined {
    return this.a[this.h];
  }
  shift(): T | undefined {
    if (this.h >= this.a.length) return undefined;
    const x = this.a[this.h];
    this.a[this.h++] = undefined;
    if (this.h > 1024 && this.h * 2 > this.a.length) {
      this.a = this.a.slice(this.h);
      this.h = 0;
    }
    return x;
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.h; i < this.a.length; i++) yield this.a[i]!;
  }
  clear(): void {
    this.a = [];
    this.h = 0;
  }
}

const UTIL_RING = 2048;
const UTIL_WINDOW_MS = 1000;

export class Engine {
  readonly profile: Profile;
  readonly blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  mode: 'random' | 'echo';
  jitterPct: number;
  slowdown: number;
  overheadMs: number;
  readonly maxLoadedModels: number;
  readonly meanOutputTokens: number;
  readonly models = new Map<string, ModelState>();
  pool: BlockPool;

  /** Model time (ms) the engine has been advanced to. */
  now = 0;
  private kvFixedTokens: number | undefined;
  private readonly rng: Rng;
  private readonly hashSeed: number;
  private readonly startupMs: number;
  private readonly modelSpecs: ModelSpec[];
  private pending: EngineRequest[] = [];
  private readonly waiting = new Queue<EngineRequest>();
  private waitingCount = 0;
  private running: EngineRequest[] = [];
  private stepEnd = Infinity;
  private stepStart = 0;
  private readonly batch: EngineRequest[] = [];
  private nextLoadAt = Infinity;
  private seq = 0;

  // Counters across the engine's life (a simulated crash keeps them; see reset()).
  steps = 0;
  busyMs = 0;
  aborted = 0;
  dropped = 0;
  submitted = 0;
  private readonly utilStart = new Float64Array(UTIL_RING);
  private readonly utilEnd = new Float64Array(UTIL_RING);
  private utilIdx = 0;
  /** True while advanceTo() runs: sinks may abort requests then, but must not start a step. */
  private advancing = false;

  constructor(opts: EngineOptions) {
    this.profile = opts.profile;
    this.blockSize = opts.blockSize ?? 16;
    this.maxNumSeqs = opts.maxNumSeqs ?? 1024;
    this.maxNumBatchedTokens = opts.maxNumBatchedTokens ?? 8192;
    this.mode = opts.mode ?? 'random';
    this.jitterPct = opts.jitterPct ?? 5;
    this.slowdown = opts.slowdown ?? 1;
    this.overheadMs = opts.overheadMs ?? opts.profile.overheadMs;
    this.maxLoadedModels = Math.max(1, opts.maxLoadedModels ?? 1);
    this.meanOutputTokens = opts.meanOutputTokens ?? 180;
    this.kvFixedTokens = opts.kvCapacityTokens;
    this.rng = new Rng(opts.seed ?? 1);
    this.hashSeed = opts.hashSeed ?? 0;
    this.startupMs = opts.startupMs ?? 0;
    this.modelSpecs = (opts.models?.length ? opts.models : [{ name: opts.profile.defaultModel, weightsGB: opts.profile.defaultWeightsGB }]).slice();
    this.pool = new BlockPool(this.blockSize, 0);
    this.initModels();
  }

  // --- public API ------------------------------------------------------------------------

  /** Queue a request at the current model time. Throws on an unknown model. */
  submit(p: SubmitParams): EngineRequest {
    const m = this.models.get(p.model);
    if (!m) throw new Error(`unknown model ${p.model}`);
    const prompt = p.promptTokens;
    const maxTokens = Math.max(1, p.maxTokens ?? Math.max(1, this.profile.maxModelLen - prompt.length));
    let target: number;
    if (p.ignoreEos) target = maxTokens;
    else if (this.mode === 'echo' && p.echoPieces?.length) target = Math.min(maxTokens, p.echoPieces.length);
    else target = Math.min(maxTokens, Math.max(1, Math.round(this.rng.lognormal(this.meanOutputTokens, 1))));
    const r = new EngineRequest(
      p.id ?? `req-${++this.seq}`,
      m,
      prompt,
      maxTokens,
      target,
      this.now,
      p.sink,
      this.mode === 'echo' ? p.echoPieces : undefined,
    );
    r.readyAt = this.now + this.overheadMs + Math.max(0, p.extraDelayMs ?? 0);
    m.active++;
    m.lastUsed = this.now;
    this.submitted++;
    // pending stays sorted by readyAt; arrivals are almost always in order
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.readyAt > r.readyAt) i--;
    this.pending.splice(i, 0, r);
    return r;
  }

  /** Cancel a request (client went away). Returns false when it had already finished. */
  abort(r: EngineRequest): boolean {
    switch (r.state) {
      case ReqState.Done:
      case ReqState.Aborted:
        return false;
      case ReqState.Pending:
        this.pending.splice(this.pending.indexOf(r), 1);
        break;
      case ReqState.ModelWait:
        r.model.blocked.splice(r.model.blocked.indexOf(r), 1);
        break;
      case ReqState.Waiting:
        this.waitingCount--; // removed lazily from the queue
        break;
      case ReqState.Running:
        this.pool.release(r.blocks);
        r.blocks = [];
        this.running.splice(this.running.indexOf(r), 1);
        break;
    }
    r.state = ReqState.Aborted;
    r.finishedAt = this.now;
    r.model.active--;
    r.model.stats.aborted++;
    this.aborted++;
    this.afterRelease(this.now);
    if (!this.advancing && this.stepEnd === Infinity) this.startStep(this.now);
    return true;
  }

  /** Model time of the next thing that happens by itself, or Infinity when idle. */
  nextEventTime(): number {
    let t = this.stepEnd;
    if (this.pending.length && this.pending[0]!.readyAt < t) t = this.pending[0]!.readyAt;
    if (this.nextLoadAt < t) t = this.nextLoadAt;
    return t;
  }

  /** Run the engine up to model time `t` (ms), completing every step that ends by then. */
  advanceTo(t: number): void {
    this.advancing = true;
    try {
      for (;;) {
        const next = this.nextEventTime();
        if (next > t) break;
        if (next > this.now) this.now = next;
        if (this.stepEnd <= next) this.finishStep();
        if (this.nextLoadAt <= next) this.completeLoads(next);
        this.releasePending(next);
        if (this.stepEnd === Infinity) this.startStep(next);
      }
    } finally {
      this.advancing = false;
    }
    if (t > this.now) this.now = t;
  }

  /** Change the KV capacity (tokens) at runtime; undefined = derive from resident weights. */
  setKvCapacity(tokens: number | undefined): void {
    this.kvFixedTokens = tokens;
    this.resizeKv();
  }

  /** Simulated crash: drop every request and start cold (empty cache, initial models). */
  reset(reason = 'crash'): void {
    const victims: EngineRequest[] = [...this.pending, ...this.running];
    for (const r of this.waiting) if (r.state === ReqState.Waiting) victims.push(r);
    for (const m of this.models.values()) victims.push(...m.blocked);
    for (const r of victims) {
      r.state = ReqState.Aborted;
      r.finishedAt = this.now;
      r.model.stats.aborted++;
      this.dropped++;
    }
    this.pending = [];
    this.running = [];
    this.waiting.clear();
    this.waitingCount = 0;
    this.batch.length = 0;
    this.stepEnd = Infinity;
    const onEvent = this.pool.onEvent;
    this.pool = new BlockPool(this.blockSize, 0);
    this.pool.onEvent = onEvent;
    this.pool.onEvent?.({ type: 'AllBlocksCleared' });
    this.initModels(this.now);
    for (const r of victims) r.sink?.dropped?.(r, reason);
  }

  /** Subscribe to KV events (BlockStored/BlockRemoved/AllBlocksCleared); null to stop. */
  setKvEventSink(fn: ((e: KvEvent) => void) | null): void {
    this.pool.onEvent = fn;
  }

  // --- observations ----------------------------------------------------------------------

  get numRunning(): number {
    return this.running.length;
  }
  /** Requests not yet running: queued, blocked on a model load, or in API-server overhead. */
  get numWaiting(): number {
    let n = this.waitingCount + this.pending.length;
    for (const m of this.models.values()) n += m.blocked.length;
    return n;
  }
  runningByModel(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.running) out.set(r.model.name, (out.get(r.model.name) ?? 0) + 1);
    return out;
  }
  waitingByModel(): Map<string, number> {
    const out = new Map<string, number>();
    const add = (r: EngineRequest) => out.set(r.model.name, (out.get(r.model.name) ?? 0) + 1);
    for (const r of this.pending) add(r);
    for (const r of this.waiting) if (r.state === ReqState.Waiting) add(r);
    for (const m of this.models.values()) for (const r of m.blocked) add(r);
    return out;
  }
  /** Tokens of running and waiting requests (SGLang's /get_load `load`). */
  tokenLoad(): number {
    let n = 0;
    for (const r of this.running) n += r.tokens.length;
    for (const r of this.waiting) if (r.state === ReqState.Waiting) n += r.tokens.length;
    for (const r of this.pending) n += r.tokens.length;
    return n;
  }
  kvUsage(): number {
    return this.pool.usage();
  }
  get loading(): boolean {
    for (const m of this.models.values()) if (m.state === 'loading') return true;
    return false;
  }

  /** Fraction of the last second (model time) the engine spent in steps, in [0,1]. */
  utilization(now = this.now): number {
    const from = now - UTIL_WINDOW_MS;
    let busy = 0;
    if (this.stepEnd !== Infinity) busy += Math.max(0, Math.min(now, this.stepEnd) - Math.max(from, this.stepStart));
    for (let k = 1; k <= UTIL_RING; k++) {
      const i = (this.utilIdx - k + UTIL_RING) % UTIL_RING;
      const e = this.utilEnd[i]!;
      if (e <= from || e === 0) break;
      busy += Math.max(0, Math.min(now, e) - Math.max(from, this.utilStart[i]!));
    }
    return Math.min(1, busy / UTIL_WINDOW_MS);
  }

  totals(): ModelStats {
    const t = new ModelStats();
    for (const m of this.models.values()) {
      const s = m.stats;
      t.promptTokens += s.promptTokens;
      t.generationTokens += s.generationTokens;
      t.prefixQueries += s.prefixQueries;
      t.prefixHits += s.prefixHits;
      t.preemptions += s.preemptions;
      t.finishedStop += s.finishedStop;
      t.finishedLength += s.finishedLength;
      t.aborted += s.aborted;
    }
    return t;
  }

  // --- internals ---------------------------------------------------------------------------

  private initModels(now = 0): void {
    if (this.models.size === 0) {
      for (const s of this.modelSpecs) this.models.set(s.name, new ModelState(s.name, s.weightsGB, this.hashSeed));
    }
    let i = 0;
    this.nextLoadAt = Infinity;
    for (const m of this.models.values()) {
      m.blocked.length = 0;
      m.active = 0;
      m.wantLoad = false;
      if (i++ < this.maxLoadedModels) {
        if (this.startupMs > 0) {
          m.state = 'loading';
          m.loadDoneAt = now + this.startupMs;
          this.nextLoadAt = Math.min(this.nextLoadAt, m.loadDoneAt);
        } else {
          m.state = 'loaded';
          m.loads++;
        }
        m.lastUsed = now;
      } else {
        m.state = 'unloaded';
      }
    }
    this.resizeKv();
  }

  private resizeKv(): void {
    let tokens = this.kvFixedTokens;
    if (tokens === undefined) {
      let w = 0;
      for (const m of this.models.values()) if (m.state !== 'unloaded') w += m.weightsGB;
      tokens = kvCapacityFor(this.profile, w);
    }
    this.pool.resize(Math.floor(tokens / this.blockSize));
  }

  private releasePending(t: number): void {
    while (this.pending.length && this.pending[0]!.readyAt <= t) {
      const r = this.pending.shift()!;
      const m = r.model;
      if (m.state === 'loaded') {
        r.state = ReqState.Waiting;
        this.waiting.push(r);
        this.waitingCount++;
      } else {
        r.state = ReqState.ModelWait;
        m.blocked.push(r);
        if (m.state === 'unloaded') {
          m.wantLoad = true;
          this.startLoads(t);
        }
      }
    }
  }

  /** Start loads of wanted models while slots exist or an idle resident model can be evicted (LRU). */
  private startLoads(t: number): void {
    for (const m of this.models.values()) {
      if (!m.wantLoad || m.state !== 'unloaded') continue;
      let resident = 0;
      for (const x of this.models.values()) if (x.state !== 'unloaded') resident++;
      if (resident >= this.maxLoadedModels) {
        let victim: ModelState | undefined;
        for (const x of this.models.values()) {
          if (x.state === 'loaded' && x.active === 0 && (!victim || x.lastUsed < victim.lastUsed)) victim = x;
        }
        if (!victim) return; // every resident model is busy: wait for one to go idle
        victim.state = 'unloaded';
        this.pool.clear(victim.name);
      }
      m.wantLoad = false;
      m.state = 'loading';
      m.loadDoneAt = t + loadTimeMs(m.weightsGB);
      if (m.loadDoneAt < this.nextLoadAt) this.nextLoadAt = m.loadDoneAt;
      this.resizeKv();
    }
  }

  private completeLoads(t: number): void {
    this.nextLoadAt = Infinity;
    for (const m of this.models.values()) {
      if (m.state !== 'loading') continue;
      if (m.loadDoneAt > t) {
        this.nextLoadAt = Math.min(this.nextLoadAt, m.loadDoneAt);
        continue;
      }
      m.state = 'loaded';
      m.loads++;
      m.lastUsed = t;
      for (const r of m.blocked) {
        r.state = ReqState.Waiting;
        this.waiting.push(r);
        this.waitingCount++;
      }
      m.blocked.length = 0;
    }
  }

  /** After requests finish: a model may have gone idle, so a waiting load may start. */
  private afterRelease(t: number): void {
    for (const m of this.models.values()) {
      if (m.wantLoad) {
        this.startLoads(t);
        return;
      }
    }
  }

  private ensureHashes(r: EngineRequest, nBlocks: number): void {
    const bs = this.blockSize;
    const h = r.hashes;
    for (let i = h.length; i < nBlocks; i++) {
      h.push(blockHash(i === 0 ? 0 : h[i - 1]!, r.tokens, i * bs, (i + 1) * bs, r.model.salt));
    }
  }

  /** Register the request's newly computed full blocks in the prefix cache. */
  private cacheComputed(r: EngineRequest): void {
    const full = Math.floor(r.numComputed / this.blockSize);
    if (full <= r.cachedUpTo) return;
    this.ensureHashes(r, full);
    for (let i = r.cachedUpTo; i < full; i++) {
      this.pool.cache(r.blocks[i]!, r.hashes[i]!, r.model.name, i === 0 ? 0 : r.hashes[i - 1]!, r.tokens, i * this.blockSize);
    }
    r.cachedUpTo = full;
  }

  /** Admission (spec §4 step 4). Returns false when the KV cache cannot take the request now. */
  private tryAdmit(r: EngineRequest, t: number): boolean {
    const bs = this.blockSize;
    const target = r.computeTarget;
    const maxHit = Math.floor((target - 1) / bs); // the last prompt token is always recomputed
    this.ensureHashes(r, maxHit);
    const pool = this.pool;
    const hits: Block[] = [];
    let hitFree = 0;
    for (let i = 0; i < maxHit; i++) {
      const b = pool.lookup(r.hashes[i]!);
      if (!b) break;
      if (b.ref === 0) hitFree++;
      hits.push(b);
    }
    const need = Math.ceil(target / bs) - hits.length;
    if (need + 1 > pool.freeCount - hitFree) return false;
    const nHit = hits.length;
    for (const b of hits) pool.touch(b);
    for (let i = 0; i < need; i++) hits.push(pool.allocate());
    r.blocks = hits;
    r.cachedUpTo = nHit;
    r.numComputed = nHit * bs;
    const st = r.model.stats;
    st.prefixQueries += target;
    st.prefixHits += r.numComputed;
    if (!r.admitted) {
      r.admitted = true;
      r.cachedTokens = r.numComputed;
      st.queue.observe((t - r.readyAt) / 1000);
    }
    r.state = ReqState.Running;
    return true;
  }

  private preempt(victim: EngineRequest): void {
    this.running.pop();
    this.pool.release(victim.blocks);
    victim.blocks = [];
    victim.cachedUpTo = 0;
    victim.numComputed = 0;
    victim.computeTarget = victim.tokens.length;
    victim.preemptions++;
    victim.model.stats.preemptions++;
    victim.state = ReqState.Waiting;
    this.waiting.unshift(victim);
    this.waitingCount++;
  }

  private startStep(t: number): void {
    const bs = this.blockSize;
    const running = this.running;
    const batch = this.batch;
    batch.length = 0;
    let budget = this.maxNumBatchedTokens;
    let decodes = 0;
    let prefill = 0;
    let kvRead = 0;

    // 1. decodes, in admission order; a missing block preempts from the tail
    for (let i = 0; i < running.length && budget > 0; i++) {
      const r = running[i]!;
      if (r.numComputed < r.computeTarget) continue;
      if (r.numComputed + 1 > r.blocks.length * bs) {
        while (this.pool.freeCount === 0 && running.length > 0) {
          const victim = running[running.length - 1]!;
          this.preempt(victim);
          if (victim === r) break;
        }
        if (r.state !== ReqState.Running) break;
        r.blocks.push(this.pool.allocate());
      }
      r.stepTokens = 1;
      batch.push(r);
      budget--;
      decodes++;
      kvRead += r.numComputed + 1;
    }
    // 2. prefill chunks of running requests
    for (let i = 0; i < running.length && budget > 0; i++) {
      const r = running[i]!;
      if (r.numComputed >= r.computeTarget) continue;
      const chunk = Math.min(r.computeTarget - r.numComputed, budget);
      r.stepTokens = chunk;
      batch.push(r);
      budget -= chunk;
      prefill += chunk;
      kvRead += r.numComputed + chunk;
    }
    // 3. FCFS admissions
    while (budget > 0 && running.length < this.maxNumSeqs && this.waiting.length > 0) {
      const r = this.waiting.peek()!;
      if (r.state !== ReqState.Waiting) {
        this.waiting.shift(); // aborted while queued
        continue;
      }
      if (!this.tryAdmit(r, t)) break;
      this.waiting.shift();
      this.waitingCount--;
      running.push(r);
      const chunk = Math.min(r.computeTarget - r.numComputed, budget);
      r.stepTokens = chunk;
      batch.push(r);
      budget -= chunk;
      prefill += chunk;
      kvRead += r.numComputed + chunk;
    }
    if (batch.length === 0) {
      this.stepEnd = Infinity;
      return;
    }
    const p = this.profile;
    let ms = p.t0Ms + p.aMs * decodes + p.bMs * prefill + (p.cMsPer1k * kvRead) / 1000;
    if (this.jitterPct > 0) ms *= Math.min(1.5, Math.max(0.5, 1 + (this.jitterPct / 100) * this.rng.normal()));
    ms *= this.slowdown > 0 ? this.slowdown : 1;
    this.stepStart = t;
    this.stepEnd = t + Math.max(ms, 1e-3);
  }

  private finishStep(): void {
    const t = this.stepEnd;
    this.stepEnd = Infinity;
    this.steps++;
    this.busyMs += t - this.stepStart;
    this.utilStart[this.utilIdx] = this.stepStart;
    this.utilEnd[this.utilIdx] = t;
    this.utilIdx = (this.utilIdx + 1) % UTIL_RING;

    let finished = 0;
    const batch = this.batch;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.state !== ReqState.Running) continue; // aborted during the step
      if (r.numComputed < r.computeTarget) {
        r.numComputed += r.stepTokens;
        this.cacheComputed(r);
        if (r.numComputed < r.computeTarget) continue;
      } else {
        r.numComputed += 1;
        this.cacheComputed(r);
      }
      if (this.emit(r, t)) finished++;
    }
    batch.length = 0;
    if (finished > 0) {
      let j = 0;
      const running = this.running;
      for (let i = 0; i < running.length; i++) if (running[i]!.state === ReqState.Running) running[j++] = running[i]!;
      running.length = j;
      this.afterRelease(t);
    }
  }

  /** Sample the next token of `r` at model time `t`; returns true when the request finished. */
  private emit(r: EngineRequest, t: number): boolean {
    let id: number;
    let text: string;
    const lead = r.output === 0 ? '' : ' ';
    if (r.echoPieces) {
      const piece = r.echoPieces[r.output % r.echoPieces.length]!;
      id = tokenId(piece);
      text = lead + piece;
    } else {
      const k = this.rng.int(LEXICON.length);
      id = LEXICON_IDS[k]!;
      text = lead + LEXICON[k]!;
    }
    r.tokens.push(id);
    r.output++;
    const st = r.model.stats;
    st.generationTokens++;
    if (r.output === 1) {
      r.firstTokenAt = t;
      st.promptTokens += r.promptLen;
      st.ttft.observe((t - r.arrival) / 1000);
    } else {
      st.itl.observe((t - r.lastTokenAt) / 1000);
    }
    r.lastTokenAt = t;
    let finish: FinishReason | null = null;
    if (r.output >= r.targetTokens) {
      finish = r.output >= r.maxTokens ? 'length' : 'stop';
      r.state = ReqState.Done;
      r.finishReason = finish;
      r.finishedAt = t;
      this.pool.release(r.blocks);
      r.blocks = [];
      const m = r.model;
      m.active--;
      m.lastUsed = t;
      if (finish === 'length') st.finishedLength++;
      else st.finishedStop++;
      st.e2e.observe((t - r.arrival) / 1000);
      if (r.output > 1) st.tpot.observe((t - r.firstTokenAt) / 1000 / (r.output - 1));
    }
    r.sink?.token(r, text, finish, t);
    return finish !== null;
  }
}
