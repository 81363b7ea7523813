// The bare node:http + undici proxy of ../bare-proxy.ts: the floor of what Node can do.
import { join } from 'node:path';
import { forkScript, stop } from '../../common/children';
import { expect } from '../../common/ipc';
import { profileArgs, type Setup } from './setup';

export const bare: Setup = {
  name: 'bare Node',
  missing: () => undefined,
  async start(env) {
    const started = forkScript('bare-proxy', join(__dirname, '..', 'bare-proxy.js'), [env.backend], profileArgs(env, bare.name));
    try {
      const port = await expect<number>(started.child, 'ready', 10_000);
      return { origin: `http://127.0.0.1:${port}`, pid: started.pid, stop: () => stop(started) };
    } catch (err) {
      await stop(started);
      throw err;
    }
  },
};
