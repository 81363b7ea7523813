// Starting and stopping the processes a benchmark needs. Every process started here is
// remembered, and stopped (with all it started in turn) by stopAll(), or at the latest
// when the runner exits; nothing else is ever signalled.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from './ipc';
import { processTree } from './procstat';

export interface Started {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

const live = new Set<Started>();

function track(name: string, child: ChildProcess): Started {
  if (child.pid === undefined) throw new Error(`${name}: failed to start`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started: Started = { name, pid: child.pid, child, exited };
  live.add(started);
  void exited.then(() => live.delete(started));
  return started;
}

/**
 * Forks a compiled Node script with an IPC channel; its output goes to ours, or is appended
 * to `logFile`. With a `launcher` (a command and its options, e.g. valgrind's), node runs
 * under it: the IPC channel is inherited through it.
 */
export function forkScript(
  name: string,
  script: string,
  args: string[] = [],
  execArgv: string[] = [],
  logFile?: string,
  launcher?: string[],
): Started {
  const options = launcher?.length ? { execPath: launcher[0], execArgv: [...launcher.slice(1), process.execPath, ...execArgv] } : { execArgv };
  if (!logFile) return track(name, fork(script, args, { ...options, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return withLogFd(logFile, (fd) => track(name, fork(script, args, { ...options, stdio: ['ignore', fd, fd, 'ipc'] })));
}

/** Spawns a command with stdout and stderr appended to `logFile`. */
export function spawnCommand(name: string, command: string, args: string[], logFile: string): Started {
  return withLogFd(logFile, (fd) => track(name, spawn(command, args, { stdio: ['ignore', fd, fd] })));
}

/** Opens `logFile` for appending for the child to inherit; our copy is closed once it has. */
function withLogFd<T>(logFile: string, start: (fd: number) => T): T {
  const fd = openSync(logFile, 'a');
  try {
    return start(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs a forked script to its 'result' message and its exit; stops it if it takes too long.
 * `onMessage` sees the script's other messages as they come (e.g. 'mark').
 */
export async function runForResult<T>(
  name: string,
  script: string,
  args: string[],
  timeoutMs: number,
  onMessage?: (kind: string, value: unknown) => void,
): Promise<T> {
  const started = forkScript(name, script, args);
  const listener = (m: { kind?: string; value?: unknown }) => {
    if (typeof m?.kind === 'string' && m.kind !== 'result') onMessage?.(m.kind, m.value);
  };
  if (onMessage) started.child.on('message', listener);
  try {
    const result = await expect<T>(started.child, 'result', timeoutMs);
    await Promise.race([started.exited, sleep(5000, undefined, { ref: false })]);
    return result;
  } finally {
    started.child.off('message', listener);
    await stop(started);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL for whatever of its tree outlives `graceMs`. */
export async function stop(started: Started, graceMs = 5000): Promise<void> {
  if (!live.has(started)) return;
  const tree = processTree(started.pid);
  signal(started.pid, 'SIGTERM');
  // Unref'd: a grace timer must not keep the caller's process alive once the child is gone.
  await Promise.race([started.exited, sleep(graceMs, undefined, { ref: false })]);
  for (const pid of tree) signal(pid, 'SIGKILL');
  await started.exited;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => stop(s)));
}

process.on('exit', () => {
  for (const s of live) for (const pid of processTree(s.pid)) signal(pid, 'SIGKILL');
});

/** The path of an executable on PATH (plus the sbin folders, where haproxy and nginx live). */
export function which(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not here
    }
  }
  return undefined;
}
