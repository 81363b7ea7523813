// The shared Consul fixtures (API-SUBSET.md's examples). The shared/ folder sits beside the
// repository root (here /work/shared next to /work/main; in CI a copy beside the clone).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export const CONSUL_FIXTURES_DIR = path.join(repoRoot(), '..', 'shared', 'consul', 'fixtures');

/** Parsed fixture, e.g. consulFixture<HealthEntry[]>('health-service.json'). */
export function consulFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(CONSUL_FIXTURES_DIR, name), 'utf8')) as T;
}
