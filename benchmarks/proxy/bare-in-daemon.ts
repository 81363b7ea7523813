// The floor (bare-proxy.ts) inside a running Switchyard: a whole daemon started from
// CONFIG_FILE, on ports of its own, with its features on (health checks of the bench's
// backend, metrics, access log, timers), that takes none of the traffic, while the floor's
// code proxies the bench's. Beside the floor and Switchyard in one run, it splits
// Switchyard's gap to the floor in two: what the running daemon costs any code in its
// process (its heap, its background work), and what its request path costs.
//   node bare-in-daemon.js UPSTREAM_ORIGIN CONFIG_FILE   (tells the parent its port, as bare-proxy.js does)
import { Switchyard } from '../../lib/daemon';

async function main(): Promise<void> {
  const configPath = process.argv[3];
  if (!configPath) throw new Error('usage: bare-in-daemon.js UPSTREAM_ORIGIN CONFIG_FILE');
  await Switchyard.start({ configPath, handleSignals: false });
  await import('./bare-proxy.js'); // listens on a free port for the bench's traffic, exits on SIGTERM
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
