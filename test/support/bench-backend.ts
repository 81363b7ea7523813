// bench:proxy's backend (benchmarks/proxy/backend.ts) in its own process, and a scratch
// folder for setups, for tests of the benchmarks' setups; both gone in the test's teardown.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { forkScript, stop } from '../../benchmarks/common/children';
import { expect } from '../../benchmarks/common/ipc';

export interface BenchBackend {
  origin: string;
  pid: number;
  /** Scratch folder for the setups' configs and logs. */
  dir: string;
}

export async function startBenchBackend(t: Test, prefix: string): Promise<BenchBackend> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const backend = forkScript('backend', join(__dirname, '../../benchmarks/proxy/backend.js'), ['4', '5']);
  t.teardown(async () => {
    await stop(backend);
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await expect<number>(backend.child, 'ready', 10_000);
  return { origin: `http://127.0.0.1:${port}`, pid: backend.pid, dir };
}
