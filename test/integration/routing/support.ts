// Helpers shared by the routing and admin integration tests (not a test file itself).
import { linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Daemon, LogLine } from '../../support/daemon';
import { withTestAddresses } from '../../support/daemon';
import { call, type Reply } from '../../support/http';

/**
 * A static pool that sees only the proxy's own traffic: no active health checks and no
 * signal scraping (round-robin reads no signals), so backend request and connection counts
 * are exactly what clients sent through Switchyard.
 */
export function quietPool(urls: (string | Record<string, unknown>)[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { backends: urls, strategy: 'round-robin', health: { enabled: false }, ...extra };
}

/**
 * Writes the daemon's config without the file watch noticing: the bytes go through a hard
 * link in another directory (inotify reports a change to the directory the write went
 * through), so the running config changes only when the test reloads it (SIGHUP, POST
 * /reload). Returns a cleanup for t.teardown.
 */
export function unwatchedWriter(d: Daemon): { write(config: object | string): void; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-link-'));
  const link = join(dir, 'config.yaml');
  linkSync(d.configPath, link);
  return {
    write(config) {
      writeFileSync(link, typeof config === 'string' ? config : stringify(withTestAddresses(config as Record<string, unknown>)));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const isReloaded = (l: LogLine) => l.msg === 'config reloaded';
export const isRefused = (l: LogLine) => l.msg === 'config reload refused; the running config stays';

/** Waits for the (n+1)-th log line matching `pred`, n being how many there are now. */
export function nextLog(d: Daemon, pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
  const seen = d.logs.filter(pred).length;
  let count = 0;
  return d.waitForLog((l) => pred(l) && ++count > seen, timeoutMs);
}

export function count(d: Daemon, pred: (l: LogLine) => boolean): number {
  return d.logs.filter(pred).length;
}

export async function admin(d: Daemon, path: string, opts: { method?: string; token?: string } = {}): Promise<Reply> {
  return call(`${d.adminUrl}${path}`, {
    method: opts.method ?? 'GET',
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : undefined,
  });
}

/**
 * The value of one sample in Prometheus text, matched by name and a subset of its labels;
 * undefined when there is no such sample.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[lm[1]!] = lm[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export async function metricsText(d: Daemon, token?: string): Promise<string> {
  const r = await admin(d, '/metrics', { token });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return r.text;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pooled<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}
