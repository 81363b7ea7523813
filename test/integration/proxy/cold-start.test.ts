// Cold starts: a pool pre-warms the models it is told to keep loaded, by sending a
// one-token request to a backend whose /v1/models lacks one.
import t from 'tap';
import { request } from 'undici';
import { startSimFleet } from '../../../lib/sim';
import { startDaemon } from '../../support/daemon';

async function loadedModels(url: string): Promise<string[]> {
  const r = await request(`${url}/v1/models`);
  return ((await r.body.json()) as { data: { id: string }[] }).data.map((m) => m.id);
}

t.test('pre-warming a model the backend has not loaded', async (t) => {
  const fleet = await startSimFleet({ instances: 1, port: 0, timeScale: 0.01, models: ['llama-3-8b', 'qwen-7b:15'], maxLoadedModels: 1 });
  const sim = fleet.instances[0]!;
  t.teardown(() => fleet.close());
  const before = await loadedModels(sim.url);
  const cold = ['llama-3-8b', 'qwen-7b'].find((m) => !before.includes(m));
  t.ok(cold, `one model starts unloaded (loaded: ${before.join(', ')})`);

  const d = await startDaemon({
    pools: {
      p: {
        backends: [sim.url],
        strategy: 'least-queue',
        scrape: { interval: '100ms', stale_after: '1s' },
        cold_start: { prewarm: [cold!], hold_timeout: '10s' },
      },
    },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(() => d.stop());
  const line = await d.waitForLog((l) => l.msg === 'pre-warming model');
  t.equal(line.model, cold, 'the missing model is pre-warmed');
  const deadline = Date.now() + 20_000;
  let now = before;
  while (!now.includes(cold!) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = await loadedModels(sim.url);
  }
  t.ok(now.includes(cold!), `the backend loaded ${cold} before any client asked for it`);
  t.equal(d.logs.filter((l) => l.msg === 'pre-warming model').length, 1, 'one warm-up, not one per scrape');
});
