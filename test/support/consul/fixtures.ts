// The Consul API fixtures (the API subset's reference shapes), vendored in test/fixtures/consul
// from shared/consul/fixtures so that any clone can run the conformance tests;
// test/consul-server/fixtures.test.ts keeps the copies equal to the shared originals.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, sharedDir } from '../paths';

export const CONSUL_FIXTURES_DIR = path.join(repoRoot(), 'test', 'fixtures', 'consul');

/** The shared originals, beside the clone (absent on a machine without ../shared). */
export const SHARED_CONSUL_FIXTURES_DIR = path.join(sharedDir(), 'consul', 'fixtures');

/** Parsed fixture, e.g. consulFixture<HealthEntry[]>('health-service.json'). */
export function consulFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(CONSUL_FIXTURES_DIR, name), 'utf8')) as T;
}
