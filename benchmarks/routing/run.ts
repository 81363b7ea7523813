// scratch runner (to be replaced)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { forkScript, stopAll } from '../common/children';
import { expect } from '../common/ipc';
import { cpuMicros } from '../common/procstat';
import type { FleetBackend } from './fleet';
import { measure } from './measure';
import { multiTurnChat, noPrefix, sharedPrefix } from './workloads';

const { values: opts } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    strategies: { type: 'string', default: 'round-robin,prefix-affinity' },
    workload: { type: 'string', default: 'w1' },
    groups: { type: 'string', default: '16' },
    rate: { type: 'string', default: '50' },
    conc: { type: 'string', default: '64' },
    n: { type: 'string', default: '100000' },
    scrape: { type: 'string', default: '50' },
  },
});

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-routing-'));
  const timeScale = Number(opts.scale);
  try {
    const fleet = forkScript('fleet', join(__dirname, 'fleet.js'), [JSON.stringify({ instances: 8, timeScale, seed: 1 })]);
    const backends = await expect<FleetBackend[]>(fleet.child, 'ready', 20_000);
    let seed = 100;
    for (const strategy of opts.strategies!.split(',')) {
      const t = Date.now();
      const c0 = cpuMicros(fleet.pid), r0 = process.cpuUsage();
      seed++;
      const spec =
        opts.workload === 'w1'
          ? { workload: sharedPrefix({ groups: Number(opts.groups), perGroup: 16, systemTokens: 2048, questionTokens: 128, outputTokens: 256 }, seed), pace: { kind: 'burst' as const } }
          : opts.workload === 'chat'
            ? { workload: multiTurnChat({ sessions: 64, turns: 8, systemTokens: 256, userTokens: 96, outputTokens: 128 }, seed), pace: { kind: 'poisson' as const, perSecond: Number(opts.rate), seed } }
            : { workload: noPrefix({ requests: 100000, meanIn: 200, meanOut: 180 }, seed), pace: { kind: 'closed' as const, concurrency: Number(opts.conc) } };
      const V: Record<string, object> = {
        'pa-noqueue': { filters: ['serves-model', 'model-loaded'], scorers: [{ name: 'prefix-affinity', weight: 3, params: { queue_threshold: 1e9 } }, 'queue', 'kv-cache'], picker: 'max-score' },
        'pa-inflight': { filters: ['serves-model', 'model-loaded'], scorers: [{ name: 'prefix-affinity', weight: 3, params: { queue_threshold: 1e9 } }, 'queue', 'inflight'], picker: 'max-score' },
        'pa-inflight-q': { filters: ['serves-model', 'model-loaded'], scorers: [{ name: 'prefix-affinity', weight: 3, params: {} }, 'queue', 'inflight'], picker: 'max-score' },
      };
      const tuned = V[strategy] as Record<string, unknown> | undefined;
      const f = await measure(
        backends,
        { strategy: tuned ? 'prefix-affinity' : strategy, scheduler: tuned, timeScale, scrapeModelMs: Number(opts.scrape), staleModelMs: 2000 },
        { ...spec, limits: { count: Number(opts.n), maxMs: 60_000, hardMs: 120_000 } },
        dir,
        1024,
      );
      const r1 = process.cpuUsage(r0);
      console.log('cpu s: fleet', (cpuMicros(fleet.pid) - c0) / 1e6, 'runner', (r1.user + r1.system) / 1e6);
      console.log(strategy, ((Date.now() - t) / 1000).toFixed(1) + 's', JSON.stringify({ ...f, shares: undefined }));
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
