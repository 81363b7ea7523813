// The simulated GPU fleet, in its own process so that its event loop (the simulator's
// clock) competes with neither the proxy nor the load generator:
//   node fleet.js '{"instances":8,"timeScale":1,"seed":1,...FleetOptions}'
// Tells the parent 'ready' with the backends ({ id, url }[]); everything else (counters,
// fault injection) goes over each backend's own HTTP API (/sim/state, /admin/config).
// Exits when the parent says 'close' or goes away.
import { startSimFleet, type FleetOptions } from '../../lib/sim';
import { tell, told } from '../common/ipc';

export interface FleetBackend {
  id: string;
  url: string;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as FleetOptions;
  const fleet = await startSimFleet({ ...opts, host: '127.0.0.1', port: 0 });
  const close = () => void fleet.close().finally(() => process.exit(0));
  process.once('disconnect', close);
  tell('ready', fleet.instances.map((i): FleetBackend => ({ id: i.id, url: i.url })));
  await told('close');
  close();
}

void main();
