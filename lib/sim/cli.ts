// The switchyard-sim command line (commander). bin/switchyard-sim.ts runs it.
import { Command, InvalidArgumentError, Option } from 'commander';
import { FAILURE_TYPES, KNOB_DEFAULTS, type Knobs } from './failures';
import { startSimFleet, type FleetOptions, type SimFleet } from './index';
import { DEFAULT_PROFILE, PROFILES } from './profiles';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

export interface CliOptions {
  port: number;
  host: string;
  instances: number;
  profile: string;
  models?: string;
  maxLoadedModels: number;
  kvCapacityTokens?: number;
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  timeScale: number;
  seed: number;
  mode: 'random' | 'echo';
  metricsFlavor: 'vllm' | 'sglang' | 'tgi' | 'all';
  startupDuration: number;
  legacyKvMetric?: boolean;
  failureRate: number;
  failureTypes: string;
  stallFirstTokenMs: number;
  abortAfterTokens: number;
  abortMode: 'reset' | 'error';
  slowdown: number;
  healthFlapRate: number;
  drain?: boolean;
  metricsFreeze?: boolean;
  fakeMetrics?: string;
  refuseConnections?: boolean;
  latencyJitterPct: number;
  consul?: string;
  service: string;
  meta: string[];
  consulToken?: string;
  advertiseHost?: string;
  checkInterval: string;
}

export function buildProgram(): Command {
  const p = PROFILES[DEFAULT_PROFILE]!;
  return new Command('switchyard-sim')
    .description('GPU-free simulator of vLLM backends: continuous batching, prefix cache, KV pressure, failure injection')
    .option('--port <n>', 'port of the first backend (0 = free ports, printed)', int('--port'), 8000)
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--instances <n>', 'number of independent backends, on consecutive ports', int('--instances'), 1)
    .addOption(new Option('--profile <name>', 'hardware/model profile').choices(Object.keys(PROFILES)).default(DEFAULT_PROFILE))
    .option('--models <list>', `served models, name[:weightsGB],… (default: the profile's, ${p.defaultModel}:${p.defaultWeightsGB})`)
    .option('--max-loaded-models <n>', 'models resident at once (others load on demand, LRU)', int('--max-loaded-models'), 1)
    .option('--kv-capacity-tokens <n>', `fixed KV capacity (default: from profile and resident weights, ${p.kvTokens} for ${p.defaultModel})`, int('--kv-capacity-tokens'))
    .option('--block-size <n>', 'KV block size in tokens', int('--block-size'), 16)
    .option('--max-num-seqs <n>', 'max running requests per backend', int('--max-num-seqs'), 1024)
    .option('--max-num-batched-tokens <n>', 'token budget per engine step', int('--max-num-batched-tokens'), 8192)
    .option('--time-scale <x>', 'real time per model time (0.1 = 10x faster; reported times stay in model time)', num('--time-scale'), 1)
    .option('--seed <n>', 'random seed (instance i uses seed+i)', int('--seed'), 1)
    .addOption(new Option('--mode <mode>', 'generated text').choices(['random', 'echo']).default('random'))
    .addOption(new Option('--metrics-flavor <f>', 'metric names on /metrics').choices(['vllm', 'sglang', 'tgi', 'all']).default('vllm'))
    .option('--startup-duration <ms>', 'model ms before the initial models are ready', num('--startup-duration'), 0)
    .option('--legacy-kv-metric', 'also export vllm:gpu_cache_usage_perc')
    // failure knobs (also settable at runtime: POST /admin/config)
    .option('--failure-rate <pct>', '% of inference requests answered with an injected error', num('--failure-rate'), KNOB_DEFAULTS.failure_rate)
    .option('--failure-types <list>', 'injected error types', FAILURE_TYPES.join(','))
    .option('--stall-first-token-ms <ms>', 'extra model ms before a request is scheduled', num('--stall-first-token-ms'), 0)
    .option('--abort-after-tokens <n>', 'cut every generation after n tokens (0 = off)', int('--abort-after-tokens'), 0)
    .addOption(new Option('--abort-mode <mode>', 'how a cut shows').choices(['reset', 'error']).default('reset'))
    .option('--slowdown <x>', 'step-time multiplier', num('--slowdown'), 1)
    .option('--health-flap-rate <p>', 'probability that a /health probe answers 503', num('--health-flap-rate'), 0)
    .option('--drain', 'start draining: 503 for new requests and /health')
    .option('--metrics-freeze', 'serve the first /metrics text forever')
    .option('--fake-metrics <json>', 'override gauges, e.g. {"running":5,"waiting":2,"kv_cache_usage_perc":0.9,"gpu_util":80}')
    .option('--refuse-connections', 'start with the listener closed (POST /admin/config cannot reopen it)')
    .option('--latency-jitter-pct <pct>', 'std-dev of the step-time jitter, %', num('--latency-jitter-pct'), 5)
    // Consul
    .option('--consul <url>', 'register every backend with this Consul agent (e.g. http://127.0.0.1:8500)')
    .option('--service <name>', 'Consul service name', 'vllm')
    .option('--meta <k=v>', 'Consul Meta entry (repeatable): model_version, gpu_type, zone, region, …', collect, [] as string[])
    .option('--consul-token <token>', 'Consul ACL token (default $CONSUL_HTTP_TOKEN)')
    .option('--advertise-host <addr>', 'address registered in Consul (default: the listen host)')
    .option('--check-interval <dur>', 'Consul HTTP check interval', '2s');
}

export function fleetOptions(o: CliOptions): FleetOptions {
  const failure: Partial<Knobs> = {
    failure_rate: o.failureRate,
    failure_types: o.failureTypes.split(',').map((s) => s.trim()).filter(Boolean) as Knobs['failure_types'],
    stall_first_token_ms: o.stallFirstTokenMs,
    abort_after_tokens: o.abortAfterTokens,
    abort_mode: o.abortMode,
    slowdown: o.slowdown || 1,
    health_flap_rate: o.healthFlapRate,
    drain: o.drain ?? false,
    metrics_freeze: o.metricsFreeze ?? false,
    refuse_connections: o.refuseConnections ?? false,
    latency_jitter_pct: o.latencyJitterPct,
  };
  for (const t of failure.failure_types!) {
    if (!(FAILURE_TYPES as readonly string[]).includes(t)) throw new Error(`--failure-types: unknown type "${t}" (known: ${FAILURE_TYPES.join(', ')})`);
  }
  if (o.fakeMetrics) failure.fake_metrics = JSON.parse(o.fakeMetrics) as Knobs['fake_metrics'];
  const meta: Record<string, string> = {};
  for (const kv of o.meta) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--meta expects k=v (got "${kv}")`);
    meta[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (!(o.timeScale > 0)) throw new Error('--time-scale must be > 0');
  return {
    instances: Math.max(1, o.instances),
    port: o.port,
    host: o.host,
    profile: o.profile,
    models: o.models ? o.models.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    maxLoadedModels: o.maxLoadedModels,
    kvCapacityTokens: o.kvCapacityTokens,
    blockSize: o.blockSize,
    maxNumSeqs: o.maxNumSeqs,
    maxNumBatchedTokens: o.maxNumBatchedTokens,
    timeScale: o.timeScale,
    seed: o.seed,
    mode: o.mode,
    metricsFlavor: o.metricsFlavor,
    startupDurationMs: o.startupDuration,
    legacyKvMetric: o.legacyKvMetric ?? false,
    failure,
    ...(o.consul
      ? {
          consul: {
            url: o.consul,
            service: o.service,
            meta,
            token: o.consulToken,
            advertiseHost: o.advertiseHost,
            checkInterval: o.checkInterval,
          },
        }
      : {}),
  };
}

/** Parse argv, start the fleet, print one line per backend, stop cleanly on SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.parse(argv);
  let fleet: SimFleet;
  try {
    fleet = await startSimFleet(fleetOptions(program.opts<CliOptions>()));
  } catch (err) {
    process.stderr.write(`switchyard-sim: ${(err as Error).message}\n`);
    process.exit(1);
  }
  for (const i of fleet.instances) {
    const models = [...i.engine.models.keys()].join(',');
    process.stdout.write(`${i.id} listening on ${i.url} (profile ${i.instance.profile.name}, models ${models})\n`);
  }
  process.stdout.write(`ready: ${fleet.instances.length} backend(s) on ports ${fleet.instances.map((i) => i.port).join(',')}, time scale ${fleet.clock.timeScale}\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`switchyard-sim: ${sig}, stopping\n`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    void fleet.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
