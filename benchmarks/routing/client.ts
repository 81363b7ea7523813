// The load generator: streams chat requests through the proxy and times them at the client
// in real time (the runner converts to model time). TTFT is the arrival of the first body
// chunk: the simulator sends its headers together with the first token.
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { rng, type ChatRequest, type Workload } from './workloads';

export interface Sample {
  /** Real ms since the load started. */
  start: number;
  ttft: number;
  e2e: number;
  status: number;
  backend: string;
  /** The request's session or prefix group, when it has one (for --dump). */
  session?: number;
  group?: number;
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
  error?: string;
}

const USAGE = /"prompt_tokens":(\d+),"total_tokens":\d+,"completion_tokens":(\d+),"prompt_tokens_details":\{"cached_tokens":(\d+)\}/;
const CONTENT = /"delta":\{"content":("(?:[^"\\]|\\.)*")/g;
const TAIL = 512;

export class LoadClient {
  private readonly pool: Pool;
  private t0 = performance.now();

  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, { connections, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  }

  /** Starts the clock that `Sample.start` counts from. */
  resetClock(): void {
    this.t0 = performance.now();
  }

  /** Sends one request; never throws (failures are samples with an error). */
  async send(req: ChatRequest, wantReply: boolean, signal?: AbortSignal): Promise<{ sample: Sample; reply?: string }> {
    const start = performance.now();
    const sample: Sample = { start: start - this.t0, ttft: NaN, e2e: NaN, status: 0, backend: '', session: req.session, group: req.group, promptTokens: 0, cachedTokens: 0, outputTokens: 0 };
    let reply: string | undefined;
    try {
      const res = await this.pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...req.headers },
        body: JSON.stringify(req.body),
        signal,
      });
      sample.status = res.statusCode;
      sample.backend = String(res.headers['x-sim-backend'] ?? '');
      let tail = '';
      const parts: string[] = [];
      for await (const chunk of res.body) {
        if (Number.isNaN(sample.ttft)) sample.ttft = performance.now() - start;
        const text = (chunk as Buffer).toString('utf8');
        if (wantReply) parts.push(text);
        tail = (tail + text).slice(-TAIL);
      }
      sample.e2e = performance.now() - start;
      const usage = USAGE.exec(tail);
      if (res.statusCode !== 200) sample.error = `HTTP ${res.statusCode}: ${tail.slice(0, 200)}`;
      else if (!usage) sample.error = 'no usage chunk at the end of the stream';
      else {
        sample.promptTokens = Number(usage[1]);
        sample.outputTokens = Number(usage[2]);
        sample.cachedTokens = Number(usage[3]);
        if (wantReply) reply = [...parts.join('').matchAll(CONTENT)].map((m) => JSON.parse(m[1]!) as string).join('');
      }
    } catch (err) {
      sample.error = (err as Error).message;
    }
    return { sample, reply };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** How requests are released: all at once, N at a time, or Poisson arrivals. */
export type Pace = { kind: 'burst' } | { kind: 'closed'; concurrency: number } | { kind: 'poisson'; perSecond: number; seed: number };

export interface DriveLimits {
  /** Most requests to send. */
  count: number;
  /** Real ms after which no new request starts; those in flight are awaited. */
  maxMs: number;
  /** Real ms after which requests still in flight are aborted. */
  hardMs: number;
}

/** Runs a workload through the client at a pace; resolves with every sample, in start order. */
export async function drive(client: LoadClient, workload: Workload, pace: Pace, limits: DriveLimits): Promise<Sample[]> {
  const samples: Sample[] = [];
  const inflight = new Set<Promise<void>>();
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per request in flight
  const hard = setTimeout(() => abort.abort(new Error('run exceeded its time limit')), limits.hardMs);
  client.resetClock();
  const t0 = performance.now();
  const launch = (): boolean => {
    const next = workload.next();
    if (!next) return false;
    const p: Promise<void> = Promise.resolve(next)
      .then(async (req) => {
        const { sample, reply } = await client.send(req, workload.wantsReply, abort.signal);
        samples.push(sample);
        workload.done(req, sample.error ? undefined : reply);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    return true;
  };
  const open = () => samples.length + inflight.size < limits.count && performance.now() - t0 < limits.maxMs;
  try {
    if (pace.kind === 'burst') {
      while (open() && launch());
    } else if (pace.kind === 'closed') {
      while (open() && inflight.size < pace.concurrency && launch());
      while (inflight.size > 0) {
        await Promise.race(inflight);
        while (open() && inflight.size < pace.concurrency && launch());
      }
    } else {
      const rand = rng(pace.seed);
      let due = 0;
      while (open()) {
        due += (-Math.log(1 - rand()) / pace.perSecond) * 1000;
        const wait = due - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
        if (!open() || !launch()) break;
      }
    }
    await Promise.all(inflight);
  } finally {
    clearTimeout(hard);
  }
  return samples.sort((a, b) => a.start - b.start);
}
