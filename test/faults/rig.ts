// The fault suite's rig: a fleet of simulated inference servers (lib/sim, in this process,
// so a test can inject failures and read their counters directly) behind the real daemon
// (a child process), plus small clients: chat requests, SSE streams, the admin status, and
// Prometheus samples. Everything on 127.0.0.1; everything started here is stopped in
// t.teardown.
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { startSimFleet, type FleetOptions, type SimFleet, type FleetInstance } from '../../lib/sim';
import { startDaemon, type Daemon } from '../support/daemon';

export const MODEL = 'llama-3-8b';

export interface Rig {
  fleet: SimFleet;
  d: Daemon;
  /** Keep-alive client pool for the test's requests. */
  agent: Agent;
  /** The pool's backend id of a sim instance (`127.0.0.1:<port>`). */
  idOf(i: FleetInstance): string;
}

export interface RigOptions {
  fleet?: FleetOptions;
  /** Merged into the pool `p` definition (timeouts, outlier, retries, …). */
  pool?: Record<string, unknown>;
  /** Replaces the single catch-all route to `p`. */
  routes?: Record<string, unknown>[];
  /** Top-level config keys (limits, …). */
  config?: Record<string, unknown>;
  /** Extra environment for the daemon process (e.g. NODE_OPTIONS). */
  env?: Record<string, string>;
}

/** Three (or `fleet.instances`) sims behind one daemon pool `p`; health checks off unless the pool says otherwise. */
export async function startRig(t: Test, opts: RigOptions = {}): Promise<Rig> {
  const fleet = await startSimFleet({ instances: 3, timeScale: 0.05, ...opts.fleet });
  let d: Daemon;
  try {
    d = await startDaemon({
      ...opts.config,
      pools: {
        p: {
          backends: fleet.instances.map((i) => i.url),
          strategy: 'round-robin',
          health: { enabled: false },
          ...opts.pool,
        },
      },
      routes: opts.routes ?? [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'p' }],
    }, { env: opts.env });
  } catch (err) {
    await fleet.close();
    throw err;
  }
  const agent = new Agent({ connections: 512, keepAliveTimeout: 10_000 });
  t.teardown(async () => {
    await agent.close();
    await d.stop();
    await fleet.close();
  });
  return { fleet, d, agent, idOf: (i) => `127.0.0.1:${i.port}` };
}

/** An OpenAI chat body; `ignoreEos` makes the sim generate exactly `maxTokens` tokens (vLLM's ignore_eos). */
export function chatBody(opts: { stream?: boolean; maxTokens?: number; content?: string; ignoreEos?: boolean } = {}): string {
  return JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: opts.content ?? 'hello there' }],
    max_tokens: opts.maxTokens ?? 8,
    ...(opts.stream ? { stream: true } : {}),
    ...(opts.ignoreEos ? { ignore_eos: true } : {}),
  });
}

export interface ChatResult {
  status: number;
  /** x-sim-backend of the answer (the sim that served it), if any. */
  backend?: string;
  ms: number;
  text: string;
  /** The request failed at the socket (no status). */
  error?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One non-streaming chat completion through the proxy. Never throws. */
export async function chat(rig: Rig, opts: { body?: string; headers?: Record<string, string>; signal?: AbortSignal; path?: string } = {}): Promise<ChatResult> {
  const start = Date.now();
  try {
    const r = await request(`${rig.d.url}${opts.path ?? '/v1/chat/completions'}`, {
      method: 'POST',
      body: opts.body ?? chatBody(),
      headers: { 'content-type': 'application/json', ...opts.headers },
      dispatcher: rig.agent,
      signal: opts.signal,
    });
    const text = await r.body.text();
    return { status: r.statusCode, backend: r.headers['x-sim-backend'] as string | undefined, ms: Date.now() - start, text, headers: r.headers };
  } catch (err) {
    return { status: 0, ms: Date.now() - start, text: '', error: (err as Error).message, headers: {} };
  }
}

/** Run `total` calls of `one(i)` with `concurrency` workers; returns results in order. */
export async function runLoad<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

export async function adminJson<T = any>(rig: Rig, path: string): Promise<T> {
  const r = await request(`${rig.d.adminUrl}${path}`, { dispatcher: rig.agent });
  return (await r.body.json()) as T;
}

export interface BackendStatus {
  id: string;
  state: string;
  breaker: 'closed' | 'half-open' | 'open';
  healthy: boolean;
  inflight: number;
  ejected_until?: string;
}

export async function poolStatus(rig: Rig): Promise<{ inflight: number; queued: Record<string, number>; retries_active: number; backends: BackendStatus[] }> {
  const s = await adminJson(rig, '/status');
  return s.pools.p;
}

/**
 * Sum of the samples of metric `name` whose labels include `labels` (Prometheus text from
 * the admin /metrics). 0 when none.
 */
export async function metric(rig: Rig, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await request(`${rig.d.adminUrl}/metrics`, { dispatcher: rig.agent });
  return sumSamples(await r.body.text(), name, labels);
}

export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Poll `probe` until it returns a value that `done` accepts, at most `timeoutMs` (every
 * `everyMs`). For state that has no event to await (the daemon's /status). Returns the last
 * value and whether `done` accepted it.
 */
export async function pollUntil<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, everyMs = 25): Promise<{ value: T; ok: boolean; ms: number }> {
  const start = Date.now();
  const maxRounds = Math.ceil(timeoutMs / everyMs) + 1;
  let value = await probe();
  for (let i = 0; i < maxRounds && !done(value) && Date.now() - start < timeoutMs; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await probe();
  }
  return { value, ok: done(value), ms: Date.now() - start };
}

/** Percentile (0–100) of a list of numbers; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface OpenStream {
  status: number;
  /** The sim that serves it (x-sim-backend). */
  backend: string;
  /** Everything received so far. */
  received: string;
  /** Read until `pred(received)` holds or the stream ends; false when it ended first. */
  readUntil(pred: (received: string) => boolean): Promise<boolean>;
  /** Read to the end: resolves 'end' on a clean end, or the error of an abnormal one. */
  readToEnd(): Promise<'end' | Error>;
}

/** Start an SSE chat completion (by default 4,000 tokens, ignore_eos) through the proxy and return once its head arrived. */
export async function openStream(rig: Rig, opts: { body?: string; signal?: AbortSignal } = {}): Promise<OpenStream> {
  const r = await request(`${rig.d.url}/v1/chat/completions`, {
    method: 'POST',
    body: opts.body ?? chatBody({ stream: true, maxTokens: 4000, ignoreEos: true }),
    headers: { 'content-type': 'application/json' },
    dispatcher: rig.agent,
    signal: opts.signal,
  });
  const it = r.body[Symbol.asyncIterator]();
  const s: OpenStream = {
    status: r.statusCode,
    backend: String(r.headers['x-sim-backend']),
    received: '',
    async readUntil(pred) {
      // Bounded by the stream itself; each next() is one chunk.
      while (!pred(s.received)) {
        const { value, done } = await it.next();
        if (done) return false;
        s.received += (value as Buffer).toString();
      }
      return true;
    },
    async readToEnd() {
      try {
        for (;;) {
          const { value, done } = await it.next();
          if (done) return 'end';
          s.received += (value as Buffer).toString();
        }
      } catch (err) {
        return err as Error;
      }
    },
  };
  return s;
}

/** Count of complete SSE `data:` events in `text`. */
export const events = (text: string): number => text.split('\n\n').filter((e) => e.startsWith('data: ')).length;

/**
 * Resolves with Date.now() at the next generation the instance's engine aborts (a test spy
 * on Engine.abort: the event "the simulator aborted a generation").
 */
export function nextEngineAbort(inst: FleetInstance): Promise<number> {
  const engine = inst.engine;
  const original = engine.abort;
  return new Promise((resolve) => {
    engine.abort = function (this: typeof engine, r) {
      const aborted = original.call(this, r);
      if (aborted) {
        engine.abort = original;
        resolve(Date.now());
      }
      return aborted;
    };
  });
}
