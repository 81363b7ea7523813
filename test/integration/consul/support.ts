// Shared setup for the end-to-end Consul tests: the real daemon as a child process
// (test/support/daemon.ts), simulated vLLM backends (lib/sim) whose responses name them in
// `x-sim-backend`, and the Consul-compatible test server. Not a test file itself.
//
// Backends are put in the catalog with ConsulTestServer.registerService (a catalog write,
// as a remote agent would sync it) so that the test, not a probing interval, decides when a
// check flips; the self-registration test uses the agent path instead.
import type { Test } from 'tap';
import { request, type Dispatcher } from 'undici';
import { startSimFleet, type FleetInstance, type SimFleet } from '../../../lib/sim';
import { ConsulTestServer, type ConsulTestServerOptions } from '../../support/consul/server';
import { startDaemon, type Daemon, type LogLine } from '../../support/daemon';
import { agent, closeAgents } from '../../support/http';

export const SERVICE = 'vllm';
export const MODEL = 'llama-3-8b';

export async function startConsul(t: Test, opts: ConsulTestServerOptions = {}): Promise<ConsulTestServer> {
  const server = await ConsulTestServer.start(opts);
  t.teardown(() => server.close());
  return server;
}

/**
 * The daemon's top-level `consul` section with test timings: blocking waits of 1 s (so a
 * quiet watch asks about once a second), a 20 ms token bucket (a busy loop would show as
 * ~50 requests a second), a short empty-answer grace.
 */
export function consulSection(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { address: url, wait: '1s', min_interval: '20ms', burst: 2, empty_grace: '300ms', ...extra };
}

/** A pool discovered in Consul. Round-robin unless told otherwise; active checks stay on (the sims answer them). */
export function consulPool(consul: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { consul: { service: SERVICE, ...consul }, strategy: 'round-robin', ...extra };
}

/** `timeScale` 0.01: a one-token completion takes well under a millisecond of sim time. */
export async function startSims(t: Test, n: number, timeScale = 0.01): Promise<SimFleet> {
  const fleet = await startSimFleet({ instances: n, port: 0, timeScale, models: [MODEL] });
  t.teardown(() => fleet.close());
  return fleet;
}

/**
 * Puts a sim in the catalog as instance `id` of `service`, passing, on its own node.
 * Its check is `service:<id>`; its endpoint id in the pool `<id>@<dc>`.
 */
export function register(server: ConsulTestServer, inst: FleetInstance, id: string, opts: { datacenter?: string; service?: string } = {}): string {
  return server.registerService({
    node: `node-${id}`,
    address: '127.0.0.1',
    datacenter: opts.datacenter,
    service: { ID: id, Service: opts.service ?? SERVICE, Port: inst.port, Meta: { model: MODEL } },
    checks: [{ Status: 'passing' }],
  });
}

/** Starts the daemon (access log off: thousands of requests) and stops it at teardown. */
/** One chat route on the pool `gpu`, the shape most of these tests use. */
export const CHAT_ROUTES = [{ name: 'chat', match: { path_prefix: '/v1/' }, pool: 'gpu' }];

/**
 * The usual rig: a Consul test server, three simulators a, b, c of which the first
 * `registered` are in the catalog (ids 'a', 'b', 'c'), and a daemon whose pool `gpu`
 * follows the service, with CHAT_ROUTES.
 */
export async function consulRig(t: Test, registered: 1 | 2 | 3) {
  const consul = await startConsul(t);
  const fleet = await startSims(t, 3);
  const [a, b, c] = fleet.instances as [FleetInstance, FleetInstance, FleetInstance];
  [a, b, c].slice(0, registered).forEach((inst, i) => register(consul, inst, 'abc'[i]!));
  const d = await daemon(t, { consul: consulSection(consul.url), pools: { gpu: consulPool({}) }, routes: CHAT_ROUTES });
  return { consul, fleet, a, b, c, d };
}

export async function daemon(t: Test, config: Record<string, unknown>, env?: Record<string, string>): Promise<Daemon> {
  const d = await startDaemon({ log: { access: false }, ...config }, { env });
  t.teardown(async () => {
    await closeAgents();
    await d.stop();
  });
  return d;
}

export interface Sent {
  /** Date.now() just before the request left. */
  sent: number;
  done: number;
  status: number;
  /** x-sim-backend of the answer (undefined when Switchyard answered itself). */
  backend?: string;
  error?: string;
}

const CHAT = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

/** One chat completion through the proxy; never throws (a failure is a record). */
export async function send(url: string, dispatcher: Dispatcher, headers: Record<string, string> = {}): Promise<Sent> {
  const sent = Date.now();
  try {
    const r = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: CHAT,
      dispatcher,
    });
    await r.body.text();
    const b = r.headers['x-sim-backend'];
    return { sent, done: Date.now(), status: r.statusCode, backend: typeof b === 'string' ? b : undefined };
  } catch (err) {
    return { sent, done: Date.now(), status: 0, error: (err as Error).message };
  }
}

/**
 * Steady traffic through the proxy: `concurrency` loops, each sending one request after
 * the other until stop(). Every request is kept, with its send time and backend.
 */
export class Traffic {
  readonly log: Sent[] = [];
  private running = true;
  private readonly loops: Promise<void>[];
  private readonly dispatcher = agent();
  private waiters: { pred: (s: Sent) => boolean; resolve: (s: Sent) => void }[] = [];

  /** `pauseMs`: each loop rests this long between requests (long runs need not burn a core). */
  constructor(url: string, concurrency = 4, pauseMs = 0) {
    this.loops = Array.from({ length: concurrency }, async () => {
      while (this.running) {
        const s = await send(url, this.dispatcher);
        this.log.push(s);
        this.waiters = this.waiters.filter((w) => (w.pred(s) ? (w.resolve(s), false) : true));
        if (pauseMs > 0 && this.running) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  }

  /** The first request (sent at or after `since`) that matches, or a rejection after `timeoutMs`. */
  until(pred: (s: Sent) => boolean, since: number, timeoutMs: number, what: string): Promise<Sent> {
    const match = (s: Sent) => s.sent >= since && pred(s);
    const seen = this.log.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no request ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = { pred: match, resolve: (s: Sent) => (clearTimeout(timer), resolve(s)) };
      this.waiters.push(waiter);
    });
  }

  /** Requests sent in [from, to). */
  between(from: number, to = Infinity): Sent[] {
    return this.log.filter((s) => s.sent >= from && s.sent < to);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Starts traffic and stops it at teardown (if the test did not already). */
export function traffic(t: Test, url: string, concurrency = 4, pauseMs = 0): Traffic {
  const tr = new Traffic(url, concurrency, pauseMs);
  t.teardown(() => tr.stop());
  return tr;
}

/** Each key once, one request at a time (so bounded load never moves a key); key → backend. */
export async function keyedPass(url: string, keys: readonly string[], header: string): Promise<{ seen: Map<string, string | undefined>; failures: Sent[] }> {
  const dispatcher = agent();
  const seen = new Map<string, string | undefined>();
  const failures: Sent[] = [];
  for (const key of keys) {
    const s = await send(url, dispatcher, { [header]: key });
    seen.set(key, s.backend);
    if (s.status !== 200) failures.push(s);
  }
  return { seen, failures };
}

export const failed = (log: readonly Sent[]) => log.filter((s) => s.status !== 200);
export const backends = (log: readonly Sent[]) => [...new Set(log.map((s) => s.backend))].sort();

/** Polls `probe` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function poll<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string, intervalMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The daemon's /status pools section. */
export async function status(d: Daemon): Promise<any> {
  const r = await request(`${d.adminUrl}/status`);
  return r.body.json();
}

/**
 * Waits until pool `pool` serves exactly the endpoint ids `ids` and has scraped each of them
 * (its /v1/models lists MODEL). Until a backend's first scrape (within one scrape interval,
 * 1 s, of its arrival) the `model-loaded` filter of the affinity presets passes it over, so
 * sticky keys homed on it go elsewhere for that moment: steady-state mapping needs this.
 */
export async function scraped(d: Daemon, pool: string, ids: readonly string[], timeoutMs = 5000, modelsKnown = true): Promise<void> {
  const want = [...ids].sort().join(',');
  await poll(
    async () => {
      const list = ((await status(d)).pools[pool].backends as { id: string; draining: boolean; signals?: { loadedModels?: string[] } }[]).filter((b) => !b.draining);
      const ready = list.map((b) => b.id).sort().join(',') === want && (!modelsKnown || list.every((b) => b.signals?.loadedModels?.includes(MODEL)));
      return ready ? true : undefined;
    },
    timeoutMs,
    `pool ${pool} to serve and have scraped ${want}`,
    50,
  );
}

/** Waits for the (n+1)-th log line matching `pred`, n being how many there are now. */
export function nextLog(d: Daemon, pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
  const seen = d.logs.filter(pred).length;
  let count = 0;
  return d.waitForLog((l) => pred(l) && ++count > seen, timeoutMs);
}
