// A config reached through a symbolic link that is swapped to a new target (how
// Kubernetes updates a mounted ConfigMap: config.yaml -> ..data/config.yaml, and `..data`
// is atomically re-pointed) is a change of the file: the watch must reload it.
import t from 'tap';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { startBackend } from '../../support/backend';
import { startDaemon, withTestAddresses } from '../../support/daemon';
import { admin, isReloaded, nextLog, quietPool } from './support';

t.test('a swapped symlink target is reloaded by the file watch', async (t) => {
  const backend = await startBackend();
  const config = (weight: number) =>
    stringify(withTestAddresses({ pools: { p: quietPool([backend.url]), q: quietPool([backend.url]) }, routes: [{ name: 'r', split: { p: weight, q: 1 } }] }));
  const d = await startDaemon(config(1));
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });
  const dir = dirname(d.configPath);
  for (const [v, w] of [['v1', 1], ['v2', 2]] as const) {
    mkdirSync(join(dir, v));
    writeFileSync(join(dir, v, 'config.yaml'), `# ${v}\n${config(w)}`);
  }
  // The ConfigMap layout: config.yaml -> ..data/config.yaml, ..data -> v1 (a comment differs
  // from the running file, so this step ends with its own reload, awaited before the swap).
  symlinkSync('v1', join(dir, '..data'));
  symlinkSync(join('..data', 'config.yaml'), join(dir, 'config.yaml.link'));
  const setUp = nextLog(d, isReloaded);
  renameSync(join(dir, 'config.yaml.link'), d.configPath);
  await setUp;
  t.same((await admin(d, '/routes')).json().routes[0].split, { p: 1, q: 1 }, 'v1 in force');

  // The update: ..data re-pointed to v2 in one rename.
  const reloaded = nextLog(d, isReloaded, 5_000);
  symlinkSync('v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await t.resolves(reloaded, 'the daemon reloaded');
  t.same((await admin(d, '/routes')).json().routes[0].split, { p: 2, q: 1 }, 'the new weights are in force');
});
