// A setup is one way for clients to reach the backend: directly or through a proxy.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { spawnCommand, stop, type Started } from '../../common/children';
import { freePort, waitUntil } from '../../common/net';
import { CHAT_BODY, CHAT_PATH, JSON_HEADERS } from '../workload';

export interface SetupEnv {
  /** The backend's origin, e.g. http://127.0.0.1:40123, and its pid. */
  backend: string;
  backendPid: number;
  /** A scratch folder for configs, logs and pid files, removed after the run. */
  dir: string;
  /** When profiling: the folder under which Node setups write CPU profiles (see profileArgs). */
  profileDir?: string;
  /**
   * A command that Node setups are started under, before node and its arguments (e.g.
   * valgrind and its options: see ../instructions.ts). Other setups ignore it.
   */
  launcher?: string[];
  /** How long a setup may take to start answering (default 30 s; a launcher slows it). */
  startTimeoutMs?: number;
}

/** `command args…`, or the same under `env.launcher`. */
export function launched(env: SetupEnv, command: string, args: string[]): [string, string[]] {
  const [launcher, ...options] = env.launcher ?? [];
  return launcher ? [launcher, [...options, command, ...args]] : [command, args];
}

export interface Running {
  /** Where the clients connect. */
  origin: string;
  /** The process (with its children) whose CPU and memory count as the proxy's. */
  pid: number;
  /** Its access log, if it writes one. */
  logFile?: string;
  stop(): Promise<void>;
}

export interface Setup {
  name: string;
  /** Run only when `--setups` names it (a variant, not a column of the default run). */
  optIn?: true;
  /** A Node setup that honours `SetupEnv.launcher` (the others ignore it). */
  launchable?: true;
  /** Why this setup cannot run on this machine, or undefined when it can. */
  missing(): string | undefined;
  start(env: SetupEnv): Promise<Running>;
}

/** Resolves once a small request through `origin` gets a 200; fails if the process exits first. */
async function answering(started: Started, origin: string, timeoutMs: number): Promise<void> {
  let exited = false;
  void started.exited.then(() => (exited = true));
  await waitUntil(started.name, timeoutMs, async () => {
    if (exited) throw new Error(`${started.name} exited during start-up`);
    try {
      const res = await request(origin + CHAT_PATH, { method: 'POST', headers: JSON_HEADERS, body: CHAT_BODY });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false; // not listening yet
    }
  });
}

/** The folder a setup's CPU profile goes to. */
export const profileFolder = (root: string, setupName: string) => join(root, setupName.replace(/\W+/g, '-').toLowerCase());

/** Node flags that make a Node setup write a CPU profile when it exits, if profiling. */
export function profileArgs(env: SetupEnv, setupName: string): string[] {
  return env.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileFolder(env.profileDir, setupName)}`] : [];
}

/**
 * Writes a daemon's config for a free port into the scratch folder, starts `command` with
 * `args(configFile)`, logging to NAME.log there, and waits until it proxies.
 */
export async function startDaemon(
  env: SetupEnv,
  daemon: { name: string; command: string; configFile: string; config: (port: number) => string; args: (file: string) => string[] },
  graceMs = 5000,
  node = false,
): Promise<Running> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const file = join(env.dir, daemon.configFile);
  const logFile = join(env.dir, `${daemon.name}.log`);
  writeFileSync(file, daemon.config(port));
  const [command, args] = node ? launched(env, daemon.command, daemon.args(file)) : [daemon.command, daemon.args(file)];
  const started = spawnCommand(daemon.name, command, args, logFile);
  try {
    await answering(started, origin, env.startTimeoutMs ?? 30_000);
  } catch (err) {
    await stop(started);
    const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' / ');
    throw new Error(`${(err as Error).message}; its log ends: ${tail || '(empty)'}`);
  }
  return { origin, pid: started.pid, logFile, stop: () => stop(started, graceMs) };
}
