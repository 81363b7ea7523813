// No proxy: the clients talk to the backend itself. Its CPU and memory are the backend's.
import type { Setup } from './setup';

export const direct: Setup = {
  name: 'direct',
  missing: () => undefined,
  start: async (env) => ({ origin: env.backend, pid: env.backendPid, stop: async () => {} }),
};
