// `switchyard check`: the checker as a function (runCheck) on real files.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCheck } from '../../../lib/cli/check';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-check-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function check(files: string[]): { code: number; lines: string[] } {
  let output = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  const code = runCheck(files, out);
  return { code, lines: output.split('\n').filter(Boolean) };
}

const valid = file('valid.yaml', 'pools:\n  a:\n    backends: [http://127.0.0.1:8001]\n');
const invalid = file('invalid.yaml', 'listen: { port: "x" }\npools:\n  a:\n    backends: [http://127.0.0.1:8001]\nroutes:\n  - name: r\n    pool: b\n');
const example = join(__dirname, '..', '..', '..', '..', 'config.example.yaml');

t.test('a valid file: exit 0 and its hash', async (t) => {
  const { code, lines } = check([valid]);
  t.equal(code, 0);
  t.match(lines, [new RegExp(`^${valid}: ok \\(hash [0-9a-f]{12}\\)$`)]);
  t.equal(lines.length, 1);
});

t.test('the shipped example checks out', async (t) => {
  t.equal(check([example]).code, 0);
});

t.test('an invalid file: exit 1 and FILE:LINE:COL: message per problem', async (t) => {
  const { code, lines } = check([invalid]);
  t.equal(code, 1);
  t.same(lines, [`${invalid}:1:17: listen.port: expected a number, got "x"`, `${invalid}:7:11: routes.0.pool: unknown pool "b"`]);
});

t.test('a missing file is a problem, not a crash', async (t) => {
  const missing = join(dir, 'missing.yaml');
  const { code, lines } = check([missing]);
  t.equal(code, 1);
  t.match(lines, [new RegExp(`^${missing}:1:1: cannot read file: ENOENT`)]);
});

t.test('several files: each is reported, one bad file fails the run', async (t) => {
  const { code, lines } = check([valid, invalid, valid]);
  t.equal(code, 1);
  t.equal(lines.length, 4);
  t.ok(lines[0]!.startsWith(`${valid}: ok`));
  t.ok(lines[3]!.startsWith(`${valid}: ok`));
  t.equal(check([valid, valid]).code, 0);
});
