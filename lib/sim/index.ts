// switchyard-sim: a GPU-free stand-in for vLLM backends (spec: shared/reference/simulator.md;
// model, flags and deviations: lib/sim/README.md).
//
// Programmatic API, for tests, benchmarks and `switchyard demo`:
//
//   import { startSimFleet } from '../../lib/sim';
//   const fleet = await startSimFleet({ instances: 3, port: 0, timeScale: 0.05, models: ['llama-3-8b'] });
//   fleet.instances[0].url;                        // 'http://127.0.0.1:41234'
//   fleet.instances[0].id;                         // 'sim-41234' (= the x-sim-backend header)
//   fleet.instances[1].setFailure({ drain: true }); // any /admin/config knob, or { crash: 5 }
//   fleet.instances[2].state().counters;           // { inference_requests, aborted, client_disconnects, … }
//   await fleet.close();
//
// - `port: 0` binds each instance to a free port; `port: P` to P, P+1, … .
// - Instance ids are `sim-<port>` (the port actually bound) unless `perInstance[i].id` says otherwise.
// - `timeScale: 0.05` runs 20× faster than real time; every time the simulator reports
//   (histograms, usage, /sim/state) stays in model time, and so do the knobs' durations.
// - Options are InstanceOptions (lib/sim/server.ts) for all instances; `perInstance[i]`
//   overrides them for instance i (e.g. models, failure knobs).
// - `consul: { url, service, meta }` registers every instance with Consul (lib/sim/consul.ts)
//   and deregisters it on close().
// - Counters a test can rely on, in `instance.state().counters` and /sim/state:
//   `requests` (every HTTP request), `inference_requests` (completions and chat, counted
//   before any validation), `connections`, `bytes_received`, `aborted` (generations cut
//   before the end, any cause), `client_disconnects` (the client went away mid-generation;
//   the engine aborts the request at once and frees its KV blocks), `injected_errors`,
//   `injected_aborts`. Metric: sim:requests_aborted_total{cause="client"|"injected"|"crash"}.
import { SimClock } from './clock';
import { registerInstance, type ConsulRegistration, type Registered } from './consul';
import type { AdminPatch, Knobs } from './failures';
import { SimInstance, type InstanceOptions, type SimState } from './server';

export { Engine, EngineRequest, ModelStats, type EngineOptions, type ModelSpec, type RequestSink, type SubmitParams } from './engine';
export { SimClock } from './clock';
export { SimInstance, parseModelList, type InstanceOptions, type SimState } from './server';
export { PROFILES, DEFAULT_PROFILE, getProfile, type Profile } from './profiles';
export { tokenize, renderChat, type ChatMessage } from './tokenizer';
export { KNOB_DEFAULTS, FAILURE_TYPES, type Knobs, type AdminPatch } from './failures';
export type { ConsulRegistration } from './consul';

export interface FleetOptions extends InstanceOptions {
  /** Number of backends (default 1). */
  instances?: number;
  /** Model time per real time: 0.1 runs 10× faster (default 1). */
  timeScale?: number;
  /** Overrides for instance i. */
  perInstance?: Partial<InstanceOptions>[];
  consul?: ConsulRegistration;
}

export interface FleetInstance {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly instance: SimInstance;
  readonly engine: SimInstance['engine'];
  /** Change failure knobs or engine settings (same keys as POST /admin/config). */
  setFailure(cfg: AdminPatch): Knobs;
  /** The /sim/state document. */
  state(): SimState;
}

export interface SimFleet {
  readonly instances: FleetInstance[];
  readonly clock: SimClock;
  byId(id: string): FleetInstance | undefined;
  close(): Promise<void>;
}

export async function startSimFleet(opts: FleetOptions = {}): Promise<SimFleet> {
  const n = Math.max(1, opts.instances ?? 1);
  const clock = new SimClock(opts.timeScale ?? 1);
  const { instances: _n, timeScale: _t, perInstance, consul, ...common } = opts;
  const started: SimInstance[] = [];
  const registrations: Registered[] = [];
  const close = async () => {
    await Promise.allSettled(registrations.map((r) => r.deregister()));
    await Promise.allSettled(started.map((i) => i.close()));
    clock.close();
  };
  try {
    for (let i = 0; i < n; i++) {
      const port = common.port ? common.port + i : 0;
      const inst = new SimInstance({ ...common, seed: (common.seed ?? 1) + i, ...perInstance?.[i], port: perInstance?.[i]?.port ?? port }, clock);
      await inst.start();
      started.push(inst);
      if (consul) registrations.push(await registerInstance(inst, consul));
    }
  } catch (err) {
    await close();
    throw err;
  }
  const instances: FleetInstance[] = started.map((inst) => ({
    get id() {
      return inst.id;
    },
    get port() {
      return inst.port;
    },
    get url() {
      return inst.url;
    },
    instance: inst,
    engine: inst.engine,
    setFailure: (cfg: AdminPatch) => inst.setFailure(cfg),
    state: () => inst.state(),
  }));
  return {
    instances,
    clock,
    byId: (id) => instances.find((i) => i.id === id),
    close,
  };
}

/** One backend (a fleet of one). */
export async function startSimInstance(opts: Omit<FleetOptions, 'instances' | 'perInstance'> = {}): Promise<FleetInstance & { close(): Promise<void> }> {
  const fleet = await startSimFleet({ ...opts, instances: 1 });
  return { ...fleet.instances[0]!, close: fleet.close };
}
