// Switchyard itself, with its features on as shipped: access log (to a file), active health
// checks, Prometheus metrics, outlier detection, breakers, retries and queue at their defaults,
// and Node run with the flags of the shipped systemd unit's ExecStart.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from '../../common/net';
import { profileArgs, startDaemon, type Setup } from './setup';

const BIN = resolve(__dirname, '../../../bin/switchyard.js');
const UNIT = resolve(__dirname, '../../../../deploy/switchyard.service');

/** The Node flags deploy/switchyard.service starts the daemon with (`ExecStart=/usr/bin/node FLAGS… /usr/bin/switchyard …`). */
export function unitNodeFlags(unitText = readFileSync(UNIT, 'utf8')): string[] {
  const words = /^ExecStart=(.*)$/m.exec(unitText)?.[1]!.trim().split(/\s+/) ?? [];
  if (!words[0]?.endsWith('/node')) return [];
  const script = words.findIndex((w, i) => i > 0 && !w.startsWith('-'));
  return words.slice(1, script);
}

/** The daemon's config in the bench: one round-robin pool of the bench's backend, one route for every path. */
export function benchConfig(port: number, adminPort: number, backend: string, access: boolean): string {
  return `# written by benchmarks/proxy
listen: { host: 127.0.0.1, port: ${port} }
admin: { host: 127.0.0.1, port: ${adminPort} }
log: { level: info, access: ${access} }   # access lines are info: "warn" would drop them
limits: { keep_alive_timeout: 65s }   # idle clients must outlive the idle-connection scenario
pools:
  p:
    backends: [${backend}]
    strategy: round-robin
routes:
  - { name: r, match: { path_prefix: / }, pool: p }
`;
}

function switchyardSetup(name: string, access: boolean, optIn?: true): Setup {
  const setup: Setup = {
    name,
    optIn,
    launchable: true,
    missing: () => (existsSync(BIN) ? undefined : `${BIN} is not built yet`),
    async start(env) {
      const adminPort = await freePort();
      const profile = profileArgs(env, name);
      const daemon = {
        name: access ? 'switchyard' : 'switchyard-nolog',
        command: process.execPath,
        configFile: access ? 'switchyard.yaml' : 'switchyard-nolog.yaml',
        config: (port: number) => benchConfig(port, adminPort, env.backend, access),
        args: (file: string) => [...unitNodeFlags(), ...profile, BIN, 'start', '--config', file],
      };
      // A long grace: on SIGTERM it drains, and a profile is written only on a clean exit.
      return startDaemon(env, daemon, 20_000, true);
    },
  };
  return setup;
}

export const switchyard = switchyardSetup('Switchyard', true);
/** The same with `log.access: false`, run only when named (`--setups 'switchyard ('`): what the access log costs. */
export const switchyardNoLog = switchyardSetup('Switchyard (no access log)', false, true);
