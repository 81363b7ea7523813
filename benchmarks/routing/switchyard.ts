// Switchyard in front of the fleet, as a child process (`node dist/bin/switchyard.js start`),
// one daemon per measured run so that no routing state (prefix index, session pins, rotation)
// leaks from one strategy to the next.
//
// Time scaling: the simulator runs `timeScale` real ms per model ms, so every duration that
// is about the backends' state is written in model time and scaled here. The GIE endpoint
// picker scrapes every 50 ms and calls data older than 2 s stale (simulator.md §3); so do we.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { spawnCommand, stop, type Started } from '../common/children';
import { freePort, waitUntil } from '../common/net';
import type { FleetBackend } from './fleet';
import { MODEL } from './workloads';

/** The daemon under test; SWITCHYARD_BIN points at another build (e.g. a checkout of main). */
const BIN = process.env.SWITCHYARD_BIN ?? resolve(__dirname, '../../bin/switchyard.js');

export interface DaemonKnobs {
  strategy: string;
  /** An explicit scheduler profile for the pool (replaces the strategy's preset). */
  scheduler?: Record<string, unknown>;
  timeScale: number;
  /** Model ms between scrapes of each backend's /metrics. */
  scrapeModelMs: number;
  /** Model ms after which scraped signals count as unknown. */
  staleModelMs: number;
}

export interface RunningDaemon {
  origin: string;
  admin: string;
  pid: number;
  stop(): Promise<void>;
}

const ms = (realMs: number) => `${Math.max(1, Math.round(realMs))}ms`;

function config(port: number, adminPort: number, backends: FleetBackend[], k: DaemonKnobs): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'warn', access: false },
    explain: { keep: 0 },
    pools: {
      fleet: {
        backends: backends.map((b) => ({ url: b.url, id: b.id })),
        strategy: k.strategy,
        ...(k.scheduler ? { scheduler: k.scheduler } : {}),
        scrape: {
          interval: ms(k.scrapeModelMs * k.timeScale),
          timeout: ms(Math.max(250, k.scrapeModelMs * k.timeScale)),
          stale_after: ms(k.staleModelMs * k.timeScale),
        },
        // Long streams are the workload, not a fault.
        timeouts: { first_byte: '600s', idle: '600s' },
        // Every request must be answered by the backend the scheduler chose.
        retries: { max: 0 },
        breaker: { max_requests: 100_000 },
        queue: { max: 100_000, timeout: '600s' },
      },
    },
    routes: [{ name: 'chat', match: { model: MODEL }, pool: 'fleet' }],
  };
}

/** Starts the daemon; resolves when its admin API lists every backend and, for signal-driven strategies, each has been scraped. */
export async function startSwitchyard(backends: FleetBackend[], k: DaemonKnobs, dir: string): Promise<RunningDaemon> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = join(dir, `switchyard-${k.strategy}.yaml`);
  writeFileSync(file, stringify(config(port, adminPort, backends, k)));
  const origin = `http://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const started: Started = spawnCommand(`switchyard ${k.strategy}`, process.execPath, [BIN, 'start', '--config', file], join(dir, 'switchyard.log'));
  try {
    let exited = false;
    void started.exited.then(() => (exited = true));
    await waitUntil(`switchyard (${k.strategy})`, 20_000, async () => {
      if (exited) throw new Error(`switchyard exited during start-up; its log ends: ${logTail(join(dir, 'switchyard.log'))}`);
      const status = await getJson<{ pools: { fleet: { backends: { signals?: { updatedAt: number } }[] } } }>(admin + '/status');
      if (!status) return false;
      const list = status.pools.fleet.backends;
      return list.length === backends.length && ((!k.scheduler && !scrapes(k.strategy)) || list.every((b) => b.signals?.updatedAt));
    });
  } catch (err) {
    await stop(started);
    throw err;
  }
  return { origin, admin, pid: started.pid, stop: () => stop(started) };
}

function logTail(file: string): string {
  return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' / ') || '(empty)';
}

/** Whether the daemon scrapes for this strategy (lib/daemon.ts: SIGNAL_FREE). */
function scrapes(strategy: string): boolean {
  return !['round-robin', 'random', 'least-request'].includes(strategy);
}

export async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await request(url);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    return (await res.body.json()) as T;
  } catch {
    return undefined;
  }
}
