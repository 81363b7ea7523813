// The vendored Consul fixtures (test/fixtures/consul) equal the shared originals, file for
// file, when ../shared sits beside the clone (CI and developer machines). Elsewhere there is
// nothing to compare with, and the tests use the vendored copies as they are.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUL_FIXTURES_DIR, SHARED_CONSUL_FIXTURES_DIR } from '../support/consul/fixtures';

const json = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

t.test('vendored fixtures are valid JSON', async (t) => {
  const files = json(CONSUL_FIXTURES_DIR);
  t.ok(files.length >= 20, `${files.length} fixtures`);
  for (const f of files) t.doesNotThrow(() => JSON.parse(readFileSync(join(CONSUL_FIXTURES_DIR, f), 'utf8')), f);
});

if (existsSync(SHARED_CONSUL_FIXTURES_DIR)) {
  t.test('vendored fixtures equal shared/consul/fixtures', async (t) => {
    t.same(json(CONSUL_FIXTURES_DIR), json(SHARED_CONSUL_FIXTURES_DIR), 'the same files');
    for (const f of json(SHARED_CONSUL_FIXTURES_DIR)) {
      t.equal(readFileSync(join(CONSUL_FIXTURES_DIR, f), 'utf8'), readFileSync(join(SHARED_CONSUL_FIXTURES_DIR, f), 'utf8'), f);
    }
  });
} else {
  t.comment(`no ${SHARED_CONSUL_FIXTURES_DIR} beside this clone: the vendored copies are used as they are`);
}
