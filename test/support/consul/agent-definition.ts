// Decoding and validation of `PUT /v1/agent/service/register` bodies, in the order of
// agent/agent_endpoint.go AgentRegisterService. Field names match case-insensitively and in
// snake_case, as Consul's decoder accepts; user maps (Meta, Header, TaggedAddresses) keep
// their keys.
import { CHECK_STATUSES, type CheckStatus, type Weights } from './catalog';
import { parseGoDuration } from './duration';
import { ConsulError } from './http';

export interface AgentServiceDef {
  ID: string;
  Name: string;
  Kind?: string;
  Tags: string[];
  Address: string;
  Port?: number;
  Meta: Record<string, string> | null;
  Weights: Weights;
  EnableTagOverride: boolean;
  TaggedAddresses?: Record<string, unknown>;
}

export type CheckKind = 'ttl' | 'http' | 'tcp' | 'grpc' | 'script' | 'alias' | 'h2ping' | 'udp' | 'os_service';

export interface AgentCheckDef {
  /** Undefined: generated from the service ID and the check's position. */
  CheckID?: string;
  Name?: string;
  Notes: string;
  /** Initial status; checks without one start critical. */
  Status?: CheckStatus;
  kind: CheckKind;
  ttlMs?: number;
  intervalMs?: number;
  timeoutMs?: number;
  deregisterAfterMs?: number;
  http?: { url: string; method: string; header: Record<string, string[]>; body: string };
  tcp?: string;
  successBeforePassing: number;
  failuresBeforeWarning: number;
  failuresBeforeCritical: number;
  /** The definition as the catalog shows it (`Definition`). */
  definition: Record<string, unknown>;
  /** Why the check is rejected, reported once the service itself validated. */
  invalid?: string;
}

const SERVICE_FIELDS = [
  'ID', 'Name', 'Kind', 'Tags', 'Address', 'TaggedAddresses', 'Meta', 'Port', 'SocketPath', 'Weights',
  'EnableTagOverride', 'Check', 'Checks', 'Proxy', 'Connect', 'Namespace', 'Partition', 'Locality',
];
const CHECK_FIELDS = [
  'CheckID', 'ID', 'Name', 'Notes', 'Status', 'TTL', 'HTTP', 'Header', 'Method', 'Body', 'TLSSkipVerify',
  'TLSServerName', 'DisableRedirects', 'TCP', 'UDP', 'GRPC', 'GRPCUseTLS', 'H2PING', 'OSService', 'Args',
  'ScriptArgs', 'Shell', 'DockerContainerID', 'AliasNode', 'AliasService', 'Interval', 'Timeout',
  'DeregisterCriticalServiceAfter', 'SuccessBeforePassing', 'FailuresBeforeWarning', 'FailuresBeforeCritical',
  'OutputMaxSize', 'ServiceID',
];

/** Consul clamps shorter check intervals up to one second (agent/checks MinInterval). */
const MIN_INTERVAL_MS = 1000;
const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
const META_KEY = /^[A-Za-z0-9_-]+$/;

function decodeFailed(detail: string): never {
  throw new ConsulError(400, `Request decode failed: ${detail}`);
}

function canonical(obj: unknown, fields: readonly string[], what: string): Record<string, unknown> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) decodeFailed(`json: cannot unmarshal into Go value of type ${what}`);
  const byKey = new Map(fields.map((f) => [f.toLowerCase(), f]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const name = byKey.get(k.replace(/_/g, '').toLowerCase());
    if (name) out[name] = v;
  }
  return out;
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field ${field} of type string`);
  return v;
}

function num(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field ${field} of type int`);
  return v;
}

function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field ${field} of type map[string]string`);
  for (const val of Object.values(v as object)) {
    if (typeof val !== 'string') decodeFailed(`json: cannot unmarshal ${typeof val} into Go struct field ${field} of type string`);
  }
  return { ...(v as Record<string, string>) };
}

/** Durations decode from Go duration strings or integer nanoseconds. */
function duration(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v / 1e6;
  if (typeof v !== 'string') decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field ${field} of type time.Duration`);
  const ms = parseGoDuration(v);
  if (ms === undefined) decodeFailed(`time: invalid duration "${v}"`);
  return ms;
}

function validateMeta(meta: Record<string, string>): void {
  const entries = Object.entries(meta);
  if (entries.length > 64) throw new ConsulError(400, 'Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs');
  for (const [k, v] of entries) {
    const why =
      k === '' ? 'Key cannot be blank'
      : !META_KEY.test(k) ? 'Key contains invalid characters'
      : k.length > 128 ? 'Key is too long (limit: 128 characters)'
      : k.startsWith('consul-') ? "Key prefix 'consul-' is reserved for internal use"
      : v.length > 512 ? 'Value is too long (limit: 512 characters)'
      : undefined;
    if (why) throw new ConsulError(400, `Invalid Service Meta: Couldn't load metadata pair ('${k}', '${v}'): ${why}`);
  }
}

function decodeCheck(raw: unknown): AgentCheckDef {
  const c = canonical(raw, CHECK_FIELDS, 'structs.CheckType');
  const status = str(c.Status, 'CheckType.Status');
  const ttlMs = duration(c.TTL, 'CheckType.TTL');
  const intervalMs = duration(c.Interval, 'CheckType.Interval');
  const timeoutMs = duration(c.Timeout, 'CheckType.Timeout');
  const httpUrl = str(c.HTTP, 'CheckType.HTTP');
  const tcp = str(c.TCP, 'CheckType.TCP');
  const args = c.Args ?? c.ScriptArgs;
  const kind: CheckKind | undefined =
    ttlMs !== undefined ? 'ttl'
    : httpUrl ? 'http'
    : tcp ? 'tcp'
    : c.GRPC ? 'grpc'
    : c.H2PING ? 'h2ping'
    : c.UDP ? 'udp'
    : c.OSService ? 'os_service'
    : Array.isArray(args) && args.length ? 'script'
    : c.AliasService || c.AliasNode ? 'alias'
    : undefined;
  // Validation errors come after the whole body decoded (and after service validation).
  const invalid =
    status && !CHECK_STATUSES.includes(status as CheckStatus) ? "Status for checks must 'passing', 'warning', 'critical'"
    : !kind ? 'Invalid check: Check type is not valid'
    : kind === 'ttl' && ttlMs! <= 0 ? 'Invalid check: TTL must be > 0 for TTL checks'
    : kind !== 'ttl' && kind !== 'alias' && !(intervalMs && intervalMs > 0) ? 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks'
    : undefined;
  const failuresBeforeCritical = num(c.FailuresBeforeCritical, 'CheckType.FailuresBeforeCritical') ?? 0;
  const header: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((c.Header ?? {}) as Record<string, unknown>)) header[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  const interval = intervalMs === undefined ? undefined : Math.max(intervalMs, MIN_INTERVAL_MS);
  const definition: Record<string, unknown> = {};
  if (httpUrl) Object.assign(definition, { HTTP: httpUrl, Method: str(c.Method, 'CheckType.Method') ?? 'GET' });
  if (tcp) definition.TCP = tcp;
  if (kind !== 'ttl') {
    if (interval !== undefined) definition.Interval = c.Interval;
    if (timeoutMs !== undefined) definition.Timeout = c.Timeout;
  }
  return {
    CheckID: str(c.CheckID, 'CheckType.CheckID') || str(c.ID, 'CheckType.ID') || undefined,
    Name: str(c.Name, 'CheckType.Name') || undefined,
    Notes: str(c.Notes, 'CheckType.Notes') ?? '',
    Status: (status || undefined) as CheckStatus | undefined,
    kind: kind ?? 'ttl',
    invalid,
    ttlMs,
    intervalMs: interval,
    timeoutMs: timeoutMs ?? (kind === 'http' || kind === 'tcp' ? DEFAULT_HTTP_TIMEOUT_MS : undefined),
    deregisterAfterMs: duration(c.DeregisterCriticalServiceAfter, 'CheckType.DeregisterCriticalServiceAfter'),
    http: httpUrl ? { url: httpUrl, method: str(c.Method, 'CheckType.Method') || 'GET', header, body: str(c.Body, 'CheckType.Body') ?? '' } : undefined,
    tcp,
    successBeforePassing: num(c.SuccessBeforePassing, 'CheckType.SuccessBeforePassing') ?? 0,
    failuresBeforeWarning: num(c.FailuresBeforeWarning, 'CheckType.FailuresBeforeWarning') ?? failuresBeforeCritical,
    failuresBeforeCritical,
    definition,
  };
}

/** Decodes and validates a registration body; throws the 400s Consul would answer. */
export function decodeRegistration(body: unknown): { service: AgentServiceDef; checks: AgentCheckDef[] } {
  const s = canonical(body ?? {}, SERVICE_FIELDS, 'structs.ServiceDefinition');
  const name = str(s.Name, 'ServiceDefinition.Name');
  const tags = s.Tags === undefined || s.Tags === null ? [] : s.Tags;
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) decodeFailed('json: cannot unmarshal into Go struct field ServiceDefinition.Tags of type []string');
  const meta = stringMap(s.Meta, 'ServiceDefinition.Meta');
  const port = num(s.Port, 'ServiceDefinition.Port');
  const address = str(s.Address, 'ServiceDefinition.Address') ?? '';
  let weights: Weights | undefined;
  if (s.Weights !== undefined && s.Weights !== null) {
    const w = canonical(s.Weights, ['Passing', 'Warning'], 'structs.Weights');
    weights = { Passing: num(w.Passing, 'Weights.Passing') ?? 0, Warning: num(w.Warning, 'Weights.Warning') ?? 0 };
  }
  const rawChecks = [...(s.Check ? [s.Check] : []), ...(Array.isArray(s.Checks) ? s.Checks : [])];
  const checks = rawChecks.map(decodeCheck);

  if (!name) throw new ConsulError(400, 'Missing service name');
  if (address === '0.0.0.0' || address === '::' || address === '[::]') throw new ConsulError(400, 'Invalid service address');
  if (weights && weights.Passing < 1) throw new ConsulError(400, 'Invalid Weights: Passing must be greater than 0');
  if (weights && weights.Warning < 0) throw new ConsulError(400, 'Invalid Weights: Warning must be greater or equal than 0');
  if (meta) validateMeta(meta);
  const invalid = checks.find((c) => c.invalid)?.invalid;
  if (invalid) throw new ConsulError(400, invalid);

  return {
    service: {
      ID: str(s.ID, 'ServiceDefinition.ID') || name,
      Name: name,
      Kind: str(s.Kind, 'ServiceDefinition.Kind') || undefined,
      Tags: tags as string[],
      Address: address,
      Port: port || undefined,
      Meta: meta ?? null,
      Weights: weights ?? { Passing: 1, Warning: 1 },
      EnableTagOverride: s.EnableTagOverride === true,
      TaggedAddresses: (s.TaggedAddresses as Record<string, unknown> | undefined) ?? undefined,
    },
    checks,
  };
}
