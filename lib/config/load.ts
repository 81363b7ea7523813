// Read, parse and validate a config file. Every problem carries the file, line and column
// that the YAML parser knows for the offending node, so `switchyard check` and a refused
// reload can point the operator at the exact place: `FILE:LINE:COL: message`.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, visit, type Document, type Node as YamlNode, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema';
import { validateSchedulerConfig } from '../scheduling';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export type LoadResult =
  | { ok: true; config: Config; hash: string; file: string; text: string }
  | { ok: false; problems: ConfigProblem[]; file: string };

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export function loadConfigFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, file, problems: [{ file, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}` }] };
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file = '<config>'): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined): { line: number; col: number } =>
    offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);

  if (doc.errors.length > 0) {
    return {
      ok: false,
      file,
      problems: doc.errors.map((e) => ({ file, ...at(e.pos[0]), message: yamlMessage(e, doc) })),
    };
  }
  /** A problem about the value at `path` (or about `node`, when given), prefixed with the path. */
  const locate: Locate = (path, message, node = nodeAt(doc, path)) => ({
    file,
    ...at(node?.range?.[0]),
    message: path.length ? `${path.join('.')}: ${message}` : message,
  });
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = configSchema.safeParse(raw, { error: operatorMessage });
  const problems: ConfigProblem[] = [];
  if (parsed.success) {
    // Plugin names and params of `scheduler:` blocks are known only to the scheduling registry.
    for (const [name, pool] of Object.entries(parsed.data.pools)) {
      for (const p of validateSchedulerConfig(pool)) problems.push(locate(['pools', name, ...p.path], p.message));
    }
  } else {
    for (const issue of parsed.error.issues) problems.push(...issueProblems(issue, doc, locate));
  }
  for (const p of crossCheck(raw)) {
    if (p.key === undefined) problems.push(locate(p.path, p.message));
    else problems.push(locate([...p.path, p.key], p.message, keyNodeAt(doc, p.path, p.key)));
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, file, problems };
  }
  return { ok: true, config: parsed.data!, hash: configHash(text), file, text };
}

type Path = (string | number)[];
type Locate = (path: Path, message: string, node?: YamlNode) => ConfigProblem;

/** The parser's first line, reworded where it names parser internals rather than the mistake. */
function yamlMessage(e: YAMLError, doc: Document): string {
  if (e.code === 'DUPLICATE_KEY') {
    const dup = duplicateKeyAt(doc, e.pos[0]);
    if (dup) return `${dup.path.length ? `${dup.path.join('.')}: ` : ''}duplicate key "${dup.key}"`;
  }
  if (e.code === 'MULTIPLE_DOCS') return 'a config file holds one YAML document; remove the second `---`';
  return e.message.split('\n')[0]!;
}

/** The key starting at `offset` and the path of the map holding it. */
function duplicateKeyAt(doc: Document, offset: number): { key: string; path: Path } | undefined {
  let found: { key: string; path: Path } | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const path: Path = [];
      ancestors.forEach((a, i) => {
        if (isPair(a) && isScalar(a.key)) path.push(String(a.key.value));
        else if (isSeq(a)) path.push(a.items.indexOf(ancestors[i + 1] as never));
      });
      found = { key: String(pair.key.value), path };
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * Wording for zod's built-in messages, applied only where the schema gave none of its own:
 * the operator reads "expected a number, got \"abc\"" instead of zod's type jargon.
 */
function operatorMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required key is missing';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}; got ${describe(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${issue.minimum} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}, got ${describe(issue.input)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${describe(issue.input)}`;
    case 'invalid_format':
      if (issue.format === 'starts_with') return `must start with "${(issue as { prefix?: string }).prefix}", got ${describe(issue.input)}`;
      return undefined;
    default:
      return undefined;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
};

function describe(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** The YAML node at a path, or the nearest ancestor that exists. */
function nodeAt(doc: Document, path: Path): YamlNode | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as YamlNode | undefined;
    if (node && typeof node === 'object' && 'range' in node) return node;
  }
  return doc.contents ?? undefined;
}

/** The key node of `key` inside the map at `path` (for "unknown key" problems). */
function keyNodeAt(doc: Document, path: Path, key: string): YamlNode | undefined {
  const map = doc.getIn(path, true) ?? (path.length === 0 ? doc.contents : undefined);
  if (isMap(map)) {
    for (const item of map.items) {
      if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) return item.key;
    }
  }
  return undefined;
}

function issueProblems(issue: z.core.$ZodIssue, doc: Document, locate: Locate): ConfigProblem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => locate(path, `unknown key "${key}"`, keyNodeAt(doc, path, key) ?? nodeAt(doc, path)));
  }
  if (issue.code === 'invalid_union') {
    // Report the most specific branch error rather than "invalid input".
    const branches = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
    const best = branches.map((b) => b[0]).filter(Boolean).sort((a, b) => b!.path.length - a!.path.length)[0];
    if (best) return issueProblems({ ...best, path: [...issue.path, ...best.path] } as z.core.$ZodIssue, doc, locate);
  }
  if (issue.code === 'invalid_key') {
    // A badly formed map key (a pool name): point at the key and say what is wrong with it.
    const key = String(path[path.length - 1]);
    return [locate(path, issue.issues[0]?.message ?? issue.message, keyNodeAt(doc, path.slice(0, -1), key) ?? nodeAt(doc, path))];
  }
  return [locate(path, issue.message)];
}

/**
 * Rules that span keys: pools named by routes exist, names are unique. Runs on the raw
 * document (defensively typed) so that these problems are reported together with schema ones.
 * A problem with `key` is about that key of the map at `path`, and points at the key itself.
 */
function crossCheck(input: unknown): { path: Path; key?: string; message: string }[] {
  const problems: { path: Path; key?: string; message: string }[] = [];
  const config = input as Partial<RawConfig>;
  const poolsIn = isRecord(config.pools) ? config.pools : {};
  const pools = new Set(Object.keys(poolsIn));
  const seen = new Set<string>();
  (Array.isArray(config.routes) ? config.routes : []).forEach((r, i) => {
    if (!isRecord(r)) return;
    if (typeof r.name === 'string' && seen.has(r.name)) problems.push({ path: ['routes', i, 'name'], message: `duplicate route name "${r.name}"` });
    if (typeof r.name === 'string') seen.add(r.name);
    if (typeof r.pool === 'string' && !pools.has(r.pool)) problems.push({ path: ['routes', i, 'pool'], message: `unknown pool "${r.pool}"` });
    for (const p of Object.keys(isRecord(r.split) ? r.split : {})) {
      if (!pools.has(p)) problems.push({ path: ['routes', i, 'split'], key: p, message: `unknown pool "${p}"` });
    }
  });
  for (const [name, pool] of Object.entries(poolsIn)) {
    if (!isRecord(pool)) continue;
    if (pool.consul && !config.consul) {
      problems.push({ path: ['pools', name], key: 'consul', message: 'consul discovery needs a top-level `consul` section' });
    }
    const ids = new Set<string>();
    (Array.isArray(pool.backends) ? pool.backends : []).forEach((b: unknown, i: number) => {
      const id = backendIdOf(b);
      if (id === undefined) return;
      if (ids.has(id)) problems.push({ path: ['pools', name, 'backends', i], message: `duplicate backend "${id}"` });
      ids.add(id);
    });
  }
  return problems;
}

type RawConfig = { pools: Record<string, unknown>; routes: unknown[]; consul: unknown };
function isRecord(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The id a static backend gets: its `id`, else host:port of its URL. */
export function backendIdOf(entry: unknown): string | undefined {
  try {
    if (typeof entry === 'string') return new URL(entry).host;
    if (isRecord(entry) && typeof entry.url === 'string') return typeof entry.id === 'string' ? entry.id : new URL(entry.url).host;
  } catch {
    return undefined;
  }
  return undefined;
}
