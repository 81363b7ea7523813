// The bare node:http + undici proxy of ../bare-proxy.ts: the floor of what Node can do. And
// the same code inside a running Switchyard (../bare-in-daemon.ts), an opt-in variant.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forkScript, stop, type Started } from '../../common/children';
import { expect } from '../../common/ipc';
import { freePort } from '../../common/net';
import { profileArgs, type Running, type Setup, type SetupEnv } from './setup';
import { benchConfig, unitNodeFlags } from './switchyard';

async function ready(env: SetupEnv, started: Started, logFile?: string): Promise<Running> {
  try {
    const port = await expect<number>(started.child, 'ready', env.startTimeoutMs ?? 30_000);
    return { origin: `http://127.0.0.1:${port}`, pid: started.pid, logFile, stop: () => stop(started) };
  } catch (err) {
    await stop(started);
    throw err;
  }
}

export const bare: Setup = {
  name: 'bare Node',
  launchable: true,
  missing: () => undefined,
  start: (env) =>
    ready(env, forkScript('bare-proxy', join(__dirname, '..', 'bare-proxy.js'), [env.backend], profileArgs(env, bare.name), undefined, env.launcher)),
};

/**
 * The floor's code in a process that also runs a whole Switchyard, started from the
 * bench's config on ports of its own and taking none of the traffic, with the unit's Node
 * flags as Switchyard's setup has them. Its ratio to the floor is what the running daemon
 * costs; Switchyard's ratio to it, what Switchyard's request path costs. Opt-in: it runs
 * when `--setups` names it by a prefix that names no other column, e.g. `'bare node ('`.
 */
export const bareInDaemon: Setup = {
  name: "bare Node (in Switchyard's process)",
  optIn: true,
  launchable: true,
  missing: () => undefined,
  async start(env) {
    const file = join(env.dir, 'bare-in-daemon.yaml');
    const logFile = join(env.dir, 'bare-in-daemon.log');
    writeFileSync(file, benchConfig(await freePort(), await freePort(), env.backend, true));
    const execArgv = [...unitNodeFlags(), ...profileArgs(env, bareInDaemon.name)];
    return ready(env, forkScript('bare-in-daemon', join(__dirname, '..', 'bare-in-daemon.js'), [env.backend, file], execArgv, logFile, env.launcher), logFile);
  },
};
