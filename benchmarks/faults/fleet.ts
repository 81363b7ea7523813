// The simulated backends of bench:faults, in their own process (their clock competes with
// neither the proxy nor the load generator):
//   node fleet.js '{"instances":3,"timeScale":0.05,...FleetOptions}'
// Tells the parent 'ready' with the backends ({ id, url }[]), and 'abort' with
// { id, at: Date.now() } each time an engine aborts a generation (the client went away):
// the runner times client disconnects with it. Failure injection and counters go over each
// backend's own HTTP API (/admin/config, /sim/state). Exits when the parent says 'close'
// or goes away.
import { startSimFleet, type FleetOptions } from '../../lib/sim';
import { tell, told } from '../common/ipc';

export interface FleetBackend {
  id: string;
  url: string;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as FleetOptions;
  const fleet = await startSimFleet({ ...opts, host: '127.0.0.1', port: 0 });
  for (const inst of fleet.instances) {
    const engine = inst.engine;
    const abort = engine.abort.bind(engine);
    engine.abort = (r) => {
      const aborted = abort(r);
      if (aborted) tell('abort', { id: inst.id, at: Date.now() });
      return aborted;
    };
  }
  const close = () => void fleet.close().finally(() => process.exit(0));
  process.once('disconnect', close);
  tell('ready', fleet.instances.map((i): FleetBackend => ({ id: i.id, url: i.url })));
  await told('close');
  close();
}

void main();
