// The file watch picks up the ways editors and tools save a file: written in place, or
// written to a temporary file that is renamed over the config (vim, sed -i, Ansible's
// template module, `mv`), and a save that only touches the file without changing it costs
// nothing (same hash: no new generation).
import t from 'tap';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { startBackend } from '../../support/backend';
import { startDaemon, withTestAddresses } from '../../support/daemon';
import { admin, count, isRefused, isReloaded, metricsText, nextLog, quietPool, sample } from './support';

t.test('file watch', async (t) => {
  const backend = await startBackend();
  const config = (weight: number) => ({
    pools: { p: quietPool([backend.url]), q: quietPool([backend.url]) },
    routes: [{ name: 'r', split: { p: weight, q: 1 } }],
  });
  const d = await startDaemon(config(1));
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });
  const splitNow = async () => (await admin(d, '/routes')).json().routes[0].split;

  t.test('written in place', async (t) => {
    const reloaded = nextLog(d, isReloaded);
    d.writeConfig(config(2));
    await reloaded;
    t.same(await splitNow(), { p: 2, q: 1 }, 'the new weights are in force');
  });

  t.test('a temporary file renamed over the config (atomic save)', async (t) => {
    const tmp = join(dirname(d.configPath), '.config.yaml.swp');
    writeFileSync(tmp, stringify(withTestAddresses(config(3))));
    const reloaded = nextLog(d, isReloaded);
    renameSync(tmp, d.configPath);
    await reloaded;
    t.same(await splitNow(), { p: 3, q: 1 }, 'the new weights are in force');
  });

  t.test('a save without a change makes no new generation', async (t) => {
    const before = await admin(d, '/routes');
    const successes = sample(await metricsText(d), 'switchyard_config_reloads_total', { result: 'success' }) ?? 0;
    const reloads = count(d, isReloaded);
    d.writeConfig(config(3));
    utimesSync(d.configPath, new Date(), new Date());
    // The watch reloads (counted as a success) but finds the same hash. No log line marks
    // such a reload, so the counter is polled: at most 200 times, 10 s.
    const deadline = Date.now() + 10_000;
    for (let i = 0; (sample(await metricsText(d), 'switchyard_config_reloads_total', { result: 'success' }) ?? 0) === successes; i++) {
      if (Date.now() > deadline || i >= 200) throw new Error('the watch did not react to the save');
      await new Promise((r) => setTimeout(r, 50));
    }
    t.same((await admin(d, '/routes')).json(), before.json(), 'the same route table (same created_at): nothing was rebuilt');
    t.equal(count(d, isReloaded), reloads, "no 'config reloaded' line");
    t.equal(count(d, isRefused), 0, 'nothing refused');
  });
});
