// Start the real daemon as a child process (`node dist/bin/switchyard.js start`) on a
// config written to a temp file, with listen and admin on 127.0.0.1 port 0. The ports are
// read from the daemon's "switchyard started" log line; every log line is kept for asserts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { repoRoot } from './paths';

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface Daemon {
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  proc: ChildProcess;
  configPath: string;
  logs: LogLine[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Rewrite the config file (object or YAML text). */
  writeConfig(config: object | string): void;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface DaemonOptions {
  env?: Record<string, string>;
  /** Keep the given listen/admin sections instead of forcing 127.0.0.1:0. */
  keepAddresses?: boolean;
}

export function withTestAddresses(config: Record<string, unknown>): Record<string, unknown> {
  return {
    ...config,
    listen: { host: '127.0.0.1', port: 0, ...(config.listen as object) },
    admin: { host: '127.0.0.1', port: 0, ...(config.admin as object) },
    log: { level: 'info', ...(config.log as object) },
  };
}

/** Daemons still running, killed if this test process ends first (timeout, crash). */
const live = new Set<ChildProcess>();
let reaperInstalled = false;
function reapOnExit(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = () => {
    for (const p of live) p.kill('SIGKILL');
  };
  process.once('exit', reap);
  // tap ends a timed-out test file with SIGTERM, which skips 'exit' handlers by default.
  process.once('SIGTERM', () => {
    reap();
    process.exit(143);
  });
}

export async function startDaemon(config: Record<string, unknown> | string, opts: DaemonOptions = {}): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const configPath = join(dir, 'config.yaml');
  const text = typeof config === 'string' ? config : stringify(opts.keepAddresses ? config : withTestAddresses(config));
  writeFileSync(configPath, text);
  const proc = spawn(process.execPath, [join(repoRoot(), 'dist', 'bin', 'switchyard.js'), 'start', '--config', configPath], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  reapOnExit();
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return;
    }
    logs.push(parsed);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(parsed)) waiters.splice(i, 1)[0]!.resolve(parsed);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    live.delete(proc);
    rmSync(dir, { recursive: true, force: true });
    resolve(code);
  }));

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`log line not seen within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then((code) => reject(new Error(`daemon exited (${code}) before the log line; stderr: ${stderr}`)));
    });
  };

  const started = await waitForLog((l) => l.msg === 'switchyard started', 15_000);
  const listen = started.listen as { port: number };
  const admin = (started.admin as { port: number } | undefined) ?? { port: 0 };
  return {
    url: `http://127.0.0.1:${listen.port}`,
    adminUrl: `http://127.0.0.1:${admin.port}`,
    port: listen.port,
    adminPort: admin.port,
    proc,
    configPath,
    logs,
    waitForLog,
    writeConfig(c) {
      writeFileSync(configPath, typeof c === 'string' ? c : stringify(opts.keepAddresses ? c : withTestAddresses(c as Record<string, unknown>)));
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    exited,
  };
}
