// The subset of go-bexpr (website/content/api-docs/features/filtering.mdx) that Consul
// evaluates for `?filter=` on /health/service: match operators ==, !=, in, not in,
// contains, not contains, matches, not matches, is empty, is not empty; combinators and,
// or, not and parentheses; selectors like Service.Meta.gpu_type, Service.Meta["k"],
// Checks.Status. A path that crosses an array (Checks.Status) matches when any element
// does. Parse errors and unknown selectors are 500
// `Failed to create boolean expression evaluator: …`, as in Consul.
import { ConsulError } from './http';

type Op = '==' | '!=' | 'in' | 'not in' | 'matches' | 'not matches' | 'is empty' | 'is not empty';

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; operand: Node }
  | { kind: 'match'; selector: string[]; op: Op; value?: string };

const KNOWN_FIELDS: Record<string, ReadonlySet<string>> = {
  Node: new Set(['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'Meta', 'PeerName', 'Partition']),
  Service: new Set([
    'Kind', 'ID', 'Service', 'Tags', 'Address', 'TaggedAddresses', 'Meta', 'Port', 'SocketPath', 'Weights',
    'EnableTagOverride', 'Proxy', 'Connect', 'PeerName', 'Namespace', 'Partition',
  ]),
  Checks: new Set([
    'Node', 'CheckID', 'Name', 'Status', 'Notes', 'Output', 'ServiceID', 'ServiceName', 'ServiceTags', 'Type',
    'ExposedPort', 'Definition', 'PeerName', 'Namespace', 'Partition',
  ]),
};

class ParseError extends Error {}

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): Node {
    this.ws();
    const expr = this.or();
    this.ws();
    if (this.pos < this.src.length) this.fail('"and", "or" or end of input');
    return expr;
  }

  private or(): Node {
    const left = this.and();
    if (this.keyword('or')) return { kind: 'or', left, right: this.or() };
    return left;
  }

  private and(): Node {
    const left = this.not();
    if (this.keyword('and')) return { kind: 'and', left, right: this.and() };
    return left;
  }

  private not(): Node {
    const save = this.pos;
    this.ws();
    if (this.word() === 'not') {
      const operand = this.not();
      return operand.kind === 'not' ? operand.operand : { kind: 'not', operand };
    }
    this.pos = save;
    return this.primary();
  }

  private primary(): Node {
    this.ws();
    if (this.src[this.pos] === '(') {
      this.pos++;
      const expr = this.or();
      this.ws();
      if (this.src[this.pos] !== ')') this.fail('")"', 'Unmatched parentheses');
      this.pos++;
      return expr;
    }
    return this.match();
  }

  private match(): Node {
    const start = this.pos;
    const selector = this.trySelector();
    if (selector) {
      const op = this.selectorOp();
      if (op === 'is empty' || op === 'is not empty') return { kind: 'match', selector, op };
      if (op) return { kind: 'match', selector, op, value: this.value() };
      // A bare identifier may also be the value of `value in Selector`.
      this.pos = start;
    }
    const value = this.value();
    const save = this.pos;
    if (this.keyword('in')) return { kind: 'match', selector: this.selector(), op: 'in', value };
    this.pos = save;
    if (this.keyword('not') && this.keyword('in')) return { kind: 'match', selector: this.selector(), op: 'not in', value };
    this.pos = save;
    return this.fail('"==", "!=", "in", "not in", "contains", "matches", "is"');
  }

  private selectorOp(): Op | undefined {
    const save = this.pos;
    this.ws();
    for (const sym of ['==', '!='] as const) {
      if (this.src.startsWith(sym, this.pos)) {
        this.pos += 2;
        return sym;
      }
    }
    const w1 = this.word();
    if (w1 === 'contains') return 'in';
    if (w1 === 'matches') return 'matches';
    if (w1 === 'is') {
      const w2 = this.wordAfterSpace();
      if (w2 === 'empty') return 'is empty';
      if (w2 === 'not' && this.wordAfterSpace() === 'empty') return 'is not empty';
    }
    if (w1 === 'not') {
      const w2 = this.wordAfterSpace();
      if (w2 === 'contains') return 'not in';
      if (w2 === 'matches') return 'not matches';
    }
    this.pos = save;
    return undefined;
  }

  private value(): string {
    this.ws();
    const c = this.src[this.pos];
    if (c === '"' || c === '`') return this.string();
    const num = /^-?(0|[1-9]\d*)(\.\d+)?(?=[\s)]|$)/.exec(this.src.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return num[0];
    }
    const sel = this.trySelector();
    if (sel) return sel.join('.');
    return this.fail('value');
  }

  private string(): string {
    const quote = this.src[this.pos];
    const end = this.src.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail(quote, 'Unterminated string literal');
    const body = this.src.slice(this.pos + 1, end);
    this.pos = end + 1;
    if (quote === '`') return body;
    try {
      return JSON.parse(`"${body}"`) as string;
    } catch {
      return body;
    }
  }

  private selector(): string[] {
    return this.trySelector() ?? this.fail('selector', 'Invalid selector');
  }

  private trySelector(): string[] | undefined {
    this.ws();
    const first = this.identifier();
    if (!first) return undefined;
    const path = [first];
    for (;;) {
      if (this.src[this.pos] === '.') {
        this.pos++;
        const id = this.identifier() ?? this.digits();
        if (!id) this.fail('identifier');
        path.push(id);
      } else if (this.src[this.pos] === '[') {
        this.pos++;
        this.ws();
        if (this.src[this.pos] !== '"' && this.src[this.pos] !== '`') this.fail('string', 'Invalid index');
        path.push(this.string());
        this.ws();
        if (this.src[this.pos] !== ']') this.fail('"]"', 'Unclosed index expression');
        this.pos++;
      } else {
        return path;
      }
    }
  }

  private identifier(): string | undefined {
    const m = /^[a-zA-Z][a-zA-Z0-9_/]*/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private digits(): string | undefined {
    const m = /^\d+/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private word(): string {
    const m = /^[a-z]+/.exec(this.src.slice(this.pos));
    if (!m) return '';
    const after = this.src[this.pos + m[0].length];
    if (after !== undefined && !/[\s(]/.test(after)) return '';
    this.pos += m[0].length;
    return m[0];
  }

  private wordAfterSpace(): string {
    if (!/\s/.test(this.src[this.pos] ?? '')) return '';
    this.ws();
    return this.word();
  }

  /** A keyword surrounded by whitespace (`_ "or" _` in the grammar). */
  private keyword(kw: string): boolean {
    const save = this.pos;
    if (!/\s/.test(this.src[this.pos] ?? '')) return false;
    this.ws();
    if (this.word() === kw && /[\s(]/.test(this.src[this.pos] ?? '')) return true;
    this.pos = save;
    return false;
  }

  private ws(): void {
    while (/\s/.test(this.src[this.pos] ?? '')) this.pos++;
  }

  private fail(expected: string, reason?: string): never {
    const before = this.src.slice(0, this.pos).split('\n');
    const where = `${before.length}:${before[before.length - 1].length + 1} (${this.pos})`;
    throw new ParseError(reason ? `${where}: ${reason}` : `${where}: no match found, expected: ${expected}`);
  }
}

function validate(node: Node): void {
  if (node.kind === 'not') return validate(node.operand);
  if (node.kind !== 'match') {
    validate(node.left);
    return validate(node.right);
  }
  const [root, field] = node.selector;
  const known = KNOWN_FIELDS[root];
  if (!known || (field !== undefined && !known.has(field)) || field === undefined) {
    throw new ParseError(`Selector "${node.selector.join('.')}" is not valid`);
  }
}

/** Values reachable by a path; arrays of objects fan out, so `Checks.Status` yields every status. */
function resolve(value: unknown, path: readonly string[]): unknown[] {
  if (path.length === 0) return [value];
  if (Array.isArray(value) && !/^\d+$/.test(path[0])) return value.flatMap((v) => resolve(v, path));
  if (value === null || typeof value !== 'object') return [undefined];
  return resolve((value as Record<string, unknown>)[path[0]], path.slice(1));
}

function equals(field: unknown, raw: string): boolean {
  if (typeof field === 'number') return Number(raw) === field;
  if (typeof field === 'boolean') return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw) === field;
  return String(field ?? '') === raw;
}

function lengthOf(field: unknown): number {
  if (field === null || field === undefined) return 0;
  if (typeof field === 'string' || Array.isArray(field)) return field.length;
  if (typeof field === 'object') return Object.keys(field).length;
  return 1;
}

function contains(field: unknown, raw: string): boolean {
  if (Array.isArray(field)) return field.some((v) => equals(v, raw));
  if (typeof field === 'string') return field.includes(raw);
  if (field && typeof field === 'object') return Object.prototype.hasOwnProperty.call(field, raw);
  return false;
}

function test(field: unknown, op: Op, raw: string | undefined): boolean {
  switch (op) {
    case '==':
      return equals(field, raw!);
    case '!=':
      return !equals(field, raw!);
    case 'in':
      return contains(field, raw!);
    case 'not in':
      return !contains(field, raw!);
    case 'matches':
      return new RegExp(raw!).test(String(field ?? ''));
    case 'not matches':
      return !new RegExp(raw!).test(String(field ?? ''));
    case 'is empty':
      return lengthOf(field) === 0;
    case 'is not empty':
      return lengthOf(field) > 0;
  }
}

function evaluate(node: Node, datum: unknown): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, datum) && evaluate(node.right, datum);
    case 'or':
      return evaluate(node.left, datum) || evaluate(node.right, datum);
    case 'not':
      return !evaluate(node.operand, datum);
    case 'match':
      return resolve(datum, node.selector).some((v) => test(v, node.op, node.value));
  }
}

/** Compiles `?filter=`; absent or empty means "keep everything". */
export function compileFilter(expression: string | null): (entry: object) => boolean {
  if (expression === null || expression.trim() === '') return () => true;
  let ast: Node;
  try {
    ast = new Parser(expression).parse();
    validate(ast);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    throw new ConsulError(500, `Failed to create boolean expression evaluator: ${err.message}`);
  }
  return (entry) => evaluate(ast, entry);
}
