// config.example.yaml is the operator's reference: it must validate, mention every key
// the schema knows (live or commented out) together with that key's default, and its
// commented-out keys must be valid where they stand. The schema is walked, not listed
// here, so a key added to schema.ts without documentation fails this test.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { parseConfigText } from '../../../lib/config/load';
import { configSchema } from '../../../lib/config/schema';

const EXAMPLE = join(__dirname, '..', '..', '..', '..', 'config.example.yaml');
const text = readFileSync(EXAMPLE, 'utf8');

interface SchemaKey {
  path: string;
  /** The default as an operator writes it, for keys whose default is a value (not a section). */
  default?: string;
}

/** Every key path of a zod schema; `*` stands for a record key or a list item. */
function schemaKeys(schema: z.core.$ZodType, prefix = ''): SchemaKey[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, any>;
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape as Record<string, z.core.$ZodType>).flatMap(([key, child]) => [
        { path: prefix + key, default: writtenDefault(child) },
        ...schemaKeys(child, `${prefix}${key}.`),
      ]);
    case 'default':
    case 'prefault':
    case 'optional':
      return schemaKeys(def.innerType, prefix);
    case 'pipe':
      return [...schemaKeys(def.in, prefix), ...schemaKeys(def.out, prefix)];
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap((o) => schemaKeys(o, prefix));
    case 'record':
      return schemaKeys(def.valueType, `${prefix}*.`);
    case 'array':
      return schemaKeys(def.element, `${prefix}*.`);
    default:
      return [];
  }
}

function writtenDefault(schema: z.core.$ZodType): string | undefined {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, any>;
  if (def.type === 'optional') return writtenDefault(def.innerType);
  if (def.type !== 'default' && def.type !== 'prefault') return undefined;
  if (innermost(def.innerType) === 'object') return undefined; // a section: its keys carry the defaults
  const value: unknown = def.defaultValue;
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (typeof value === 'object' && value !== null) return '{}';
  return String(value);
}

function innermost(schema: z.core.$ZodType): string {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, any>;
  return 'innerType' in def ? innermost(def.innerType) : def.type;
}

/** The example with its commented-out keys (`# key: …`, `# - …`) made live. */
function uncommented(source: string): string {
  return source
    .split('\n')
    .map((line) => line.replace(/^(\s*)# (\s*(?:- |[a-z0-9_][a-z0-9_.-]*:(?: |$)))/, '$1$2'))
    .join('\n');
}

/** Every key path in a YAML text, each with the line it is written on. */
function yamlKeys(source: string): { path: string; line: string }[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter });
  if (doc.errors.length > 0) throw new Error(`YAML errors: ${doc.errors.map((e) => e.message).join('; ')}`);
  const lines = source.split('\n');
  const out: { path: string; line: string }[] = [];
  const walk = (node: YamlNode | null | undefined, prefix: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const path = prefix + String(pair.key.value);
        out.push({ path, line: lines[lineCounter.linePos(pair.key.range![0]).line - 1]! });
        walk(pair.value as YamlNode, `${path}.`);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item as YamlNode, `${prefix}*.`);
    }
  };
  walk(doc.contents as YamlNode, '');
  return out;
}

const pathPattern = (schemaPath: string) =>
  new RegExp(`^${schemaPath.split('.').map((s) => (s === '*' ? '[^.]+' : s.replace(/[-]/g, '\\-'))).join('\\.')}$`);
const mentions = (line: string, value: string) =>
  new RegExp(`(?<![\\w.-])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-]|\\.\\d)`).test(line);

const keys = schemaKeys(configSchema);
const documented = yamlKeys(uncommented(text));

t.test('the schema walk finds the keys it should', async (t) => {
  const paths = keys.map((k) => k.path);
  t.ok(keys.length > 100, `${keys.length} key paths`);
  for (const p of ['listen.port', 'consul.register.check_interval', 'pools.*.backends.*.weight', 'pools.*.timeouts.first_byte', 'routes.*.sticky.header']) {
    t.ok(paths.includes(p), p);
  }
  t.equal(keys.find((k) => k.path === 'pools.*.health.interval')?.default, '5s');
  t.equal(keys.find((k) => k.path === 'pools.*.timeouts')?.default, undefined, 'sections have no written default');
});

t.test('the example validates as it is', async (t) => {
  const result = parseConfigText(text, 'config.example.yaml');
  t.same(result.ok ? [] : result.problems, []);
  if (!result.ok) return;
  const { pools, routes, listen, admin } = result.config;
  t.strictSame(listen, { host: '127.0.0.1', port: 8080 }, 'the demo listens on loopback only');
  t.match(admin, { host: '127.0.0.1', port: 9901 });
  t.strictSame(pools['llama-blue']!.backends, [
    'http://127.0.0.1:8001',
    { url: 'http://127.0.0.1:8002', id: 'blue-2', weight: 1, meta: { zone: 'a' } },
  ]);
  t.strictSame(pools['llama-green']!.backends, ['http://127.0.0.1:8003', 'http://127.0.0.1:8004']);
  t.equal(pools['llama-blue']!.strategy, 'least-queue');
  t.equal(pools['llama-green']!.strategy, 'least-queue');
  t.match(routes, [
    {
      name: 'chat',
      match: { model: ['llama-3-8b', 'llama3'], path_prefix: '/v1/' },
      split: { 'llama-blue': 90, 'llama-green': 10 },
      sticky: { header: 'x-session-id' },
      rewrite_model: 'llama-3-8b',
    },
  ]);
  t.equal(routes.length, 1);
});

t.test('with every commented-out key made live, the example still validates', async (t) => {
  const result = parseConfigText(uncommented(text), 'uncommented');
  t.same(result.ok ? [] : result.problems, []);
  t.ok(result.ok && result.config.consul && result.config.pools['llama-consul'], 'the consul sections were uncommented');
});

t.test('every schema key appears in the example, with its default', async (t) => {
  for (const key of keys) {
    const pattern = pathPattern(key.path);
    const lines = documented.filter((d) => pattern.test(d.path)).map((d) => d.line);
    t.ok(lines.length > 0, `${key.path} is documented`);
    if (key.default !== undefined && lines.length > 0) {
      t.ok(lines.some((line) => mentions(line, key.default!)), `${key.path} shows its default ${key.default}`, { lines });
    }
  }
});

t.test('the example documents no key the schema does not know', async (t) => {
  const patterns = keys.map((k) => pathPattern(k.path));
  const unknown = documented.filter((d) => !patterns.some((p) => p.test(d.path)) && !isFreeFormValue(d.path));
  t.same(unknown.map((d) => d.path), []);
});

/** Keys inside records of plain values (split weights, meta, headers, params) are the operator's own. */
function isFreeFormValue(path: string): boolean {
  return /^(routes\.[^.]+\.(split|match\.headers)|pools\.[^.]+\.backends\.[^.]+\.meta|pools\.[^.]+\.scheduler\.\w+(\.[^.]+)?\.params)\.[^.]+$/.test(path) || /^pools\.[^.]+$/.test(path);
}
