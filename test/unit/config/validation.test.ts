// Every kind of config mistake an operator can make, with the line and column the
// problem is reported at: `switchyard check` and a refused reload print exactly these.
import t from 'tap';
import { parseConfigText } from '../../../lib/config/load';

/** Problems as `LINE:COL: message` strings, the way an operator reads them. */
function problemsOf(yaml: string): string[] {
  const result = parseConfigText(yaml, 'test.yaml');
  if (result.ok) return [];
  t.ok(result.problems.every((p) => p.file === 'test.yaml'), 'every problem names the file');
  return result.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
}

const POOL_A = 'pools:\n  a:\n    backends: [http://127.0.0.1:8001]\n';

const cases: { name: string; yaml: string; problems: string[] }[] = [
  { name: 'unknown top-level key', yaml: `listen: { port: 1 }\nbogus: 1\n${POOL_A}`, problems: ['2:1: unknown key "bogus"'] },
  {
    name: 'unknown key two levels down',
    yaml: `${POOL_A}    health:\n      intervl: 2s\n`,
    problems: ['5:7: pools.a.health: unknown key "intervl"'],
  },
  {
    name: 'unknown key in a backend object',
    yaml: 'pools:\n  a:\n    backends:\n      - { url: http://127.0.0.1:8001, wieght: 2 }\n',
    problems: ['4:39: pools.a.backends.0: unknown key "wieght"'],
  },
  {
    name: 'unknown key in a route match',
    yaml: `${POOL_A}routes:\n  - name: r\n    pool: a\n    match: { models: [x] }\n`,
    problems: ['7:14: routes.0.match: unknown key "models"'],
  },
  { name: 'string for a number', yaml: `listen:\n  port: "abc"\n${POOL_A}`, problems: ['2:9: listen.port: expected a number, got "abc"'] },
  { name: 'number out of range', yaml: `listen: { port: 70000 }\n${POOL_A}`, problems: ['1:17: listen.port: must be at most 65535, got 70000'] },
  { name: 'fraction for a whole number', yaml: `limits: { max_connections: 1.5 }\n${POOL_A}`, problems: ['1:28: limits.max_connections: expected a whole number, got 1.5'] },
  { name: 'string for a boolean', yaml: `admin: { enabled: yes }\n${POOL_A}`, problems: ['1:19: admin.enabled: expected true or false, got "yes"'] },
  { name: 'list for a mapping', yaml: `listen: [1]\n${POOL_A}`, problems: ['1:9: listen: expected a mapping (key: value), got a list'] },
  {
    name: 'unknown strategy',
    yaml: `${POOL_A}    strategy: fastest\n`,
    problems: [
      '4:15: pools.a.strategy: expected one of round-robin, random, least-request, least-queue, kv-aware, gpu-aware, session-affinity, prefix-affinity; got "fastest"',
    ],
  },
  { name: 'backend that is not a URL', yaml: 'pools:\n  a:\n    backends: [not-a-url]\n', problems: ['3:16: pools.a.backends.0: backend must be an http:// URL'] },
  { name: 'missing pools', yaml: 'listen: { port: 8080 }\n', problems: ['1:1: pools: required key is missing'] },
  { name: 'empty file', yaml: '', problems: ['1:1: pools: required key is missing'] },
  { name: 'route without a name', yaml: `${POOL_A}routes:\n  - pool: a\n`, problems: ['5:5: routes.0.name: required key is missing'] },
  { name: 'bad pool name', yaml: 'pools:\n  "blue pool":\n    backends: [http://127.0.0.1:8001]\n', problems: ['2:3: pools.blue pool: names use letters, digits, "-", "_" and "." only'] },
  { name: 'unknown pool in a route', yaml: `${POOL_A}routes:\n  - name: r\n    pool: b\n`, problems: ['6:11: routes.0.pool: unknown pool "b"'] },
  {
    name: 'unknown pool in a split',
    yaml: `${POOL_A}routes:\n  - name: r\n    split: { a: 90, b: 10 }\n`,
    problems: ['6:21: routes.0.split.b: unknown pool "b"'],
  },
  { name: 'negative split weight', yaml: `${POOL_A}routes:\n  - name: r\n    split: { a: -1 }\n`, problems: ['6:17: routes.0.split.a: a weight cannot be negative'] },
  { name: 'split weight as a string', yaml: `${POOL_A}routes:\n  - name: r\n    split: { a: "90" }\n`, problems: ['6:17: routes.0.split.a: a weight is a number'] },
  { name: 'all-zero split weights', yaml: `${POOL_A}routes:\n  - name: r\n    split: { a: 0 }\n`, problems: ['6:12: routes.0.split: split weights are all zero'] },
  { name: 'empty split', yaml: `${POOL_A}routes:\n  - name: r\n    split: {}\n`, problems: ['6:12: routes.0.split: split names no pool'] },
  {
    name: 'negative backend weight',
    yaml: 'pools:\n  a:\n    backends:\n      - { url: http://127.0.0.1:8001, weight: -1 }\n',
    problems: ['4:47: pools.a.backends.0.weight: must be at least 0, got -1'],
  },
  { name: 'route with pool and split', yaml: `${POOL_A}routes:\n  - name: r\n    pool: a\n    split: { a: 1 }\n`, problems: ['5:5: routes.0: use `pool` or `split`, not both'] },
  { name: 'route with neither pool nor split', yaml: `${POOL_A}routes:\n  - name: r\n`, problems: ['5:5: routes.0: a route needs `pool` or `split`'] },
  {
    name: 'duplicate route names',
    yaml: `${POOL_A}routes:\n  - name: r\n    pool: a\n  - name: r\n    pool: a\n`,
    problems: ['7:11: routes.1.name: duplicate route name "r"'],
  },
  {
    name: 'duplicate pool names (a YAML duplicate key)',
    yaml: `${POOL_A}  a:\n    backends: [http://127.0.0.1:8002]\n`,
    problems: ['4:3: pools: duplicate key "a"'],
  },
  {
    name: 'duplicate backends',
    yaml: 'pools:\n  a:\n    backends:\n      - http://127.0.0.1:8001\n      - { url: "http://127.0.0.1:8001", weight: 2 }\n',
    problems: ['5:9: pools.a.backends.1: duplicate backend "127.0.0.1:8001"'],
  },
  {
    name: 'duplicate explicit backend ids',
    yaml: 'pools:\n  a:\n    backends:\n      - { url: http://127.0.0.1:8001, id: x }\n      - { url: http://127.0.0.1:8002, id: x }\n',
    problems: ['5:9: pools.a.backends.1: duplicate backend "x"'],
  },
  {
    name: 'bad duration',
    yaml: `${POOL_A}    timeouts: { connect: 2 sec }\n`,
    problems: ['4:26: pools.a.timeouts.connect: invalid duration "2 sec" (use e.g. 250ms, 2s, 5m, 1h; 0s for none)'],
  },
  {
    name: 'duration without a unit',
    yaml: `${POOL_A}    timeouts: { connect: 2 }\n`,
    problems: ['4:26: pools.a.timeouts.connect: expected a duration such as "250ms", "2s" or "5m"'],
  },
  {
    name: 'bad size',
    yaml: `limits:\n  max_body_size: 8 megabytes\n${POOL_A}`,
    problems: ['2:18: limits.max_body_size: invalid size "8 megabytes" (use e.g. 512B, 16KiB, 8MiB, 1GiB)'],
  },
  {
    name: 'pool with both backends and consul',
    yaml: `consul: {}\n${POOL_A}    consul: { service: vllm }\n`,
    problems: ['4:5: pools.a: use `backends` or `consul`, not both'],
  },
  { name: 'pool with neither backends nor consul', yaml: 'pools:\n  a:\n    strategy: random\n', problems: ['3:5: pools.a: a pool needs `backends` or `consul`'] },
  {
    name: 'consul pool without a top-level consul section',
    yaml: 'pools:\n  a:\n    consul: { service: vllm }\n',
    problems: ['3:5: pools.a.consul: consul discovery needs a top-level `consul` section'],
  },
  {
    name: 'consul pool with datacenters and nearest',
    yaml: 'consul: {}\npools:\n  a:\n    consul: { service: vllm, datacenters: [dc1], nearest: 2 }\n',
    problems: ['4:13: pools.a.consul: use either datacenters or nearest, not both'],
  },
  {
    name: 'unknown scheduler plugins',
    yaml: `${POOL_A}    scheduler:\n      filters: [model-loadd]\n      picker: best\n`,
    problems: [
      '5:17: pools.a.scheduler.filters.0: unknown filter "model-loadd" (known: serves-model, model-loaded)',
      '6:15: pools.a.scheduler.picker: unknown picker "best" (known: max-score, random, weighted-random, power-of-two, round-robin)',
    ],
  },
  {
    name: 'bad scheduler plugin param',
    yaml: `${POOL_A}    scheduler:\n      scorers: [{ name: prefix-affinity, params: { block_size: 0 } }]\n`,
    problems: ['5:64: pools.a.scheduler.scorers.0.params.block_size: scorer "prefix-affinity": param "block_size" must be an integer ≥ 1, got 0'],
  },
  {
    name: 'YAML syntax error',
    yaml: 'pools:\n  a:\n    backends: [http://127.0.0.1:8001\n',
    problems: ['4:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  { name: 'two YAML documents', yaml: `${POOL_A}---\nlisten: {}\n`, problems: ['4:1: a config file holds one YAML document; remove the second `---`'] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(problemsOf(c.yaml), c.problems);
  });
}

t.test('every problem is reported at once, in file order', async (t) => {
  const yaml = `bogus: 1\n${POOL_A}    strategy: fastest\nroutes:\n  - name: r\n    split: { b: 1 }\n`;
  t.same(
    problemsOf(yaml).map((p) => p.split(':').slice(0, 2).join(':')),
    ['1:1', '5:15', '8:14'],
  );
});

t.test('a valid config has no problems and a stable hash', async (t) => {
  const first = parseConfigText(POOL_A);
  const second = parseConfigText(POOL_A);
  const edited = parseConfigText(`${POOL_A}    strategy: random\n`);
  if (!first.ok || !second.ok || !edited.ok) throw new Error('expected valid configs');
  t.match(first.hash, /^[0-9a-f]{12}$/);
  t.equal(first.hash, second.hash);
  t.not(first.hash, edited.hash);
});
