// ACL mode, reduced to the rules discovery needs: per-token service/key/query access given
// as prefix rules (Consul's `service_prefix`/`key_prefix`; the longest matching prefix wins,
// "" matches everything), a default policy, and an anonymous token.
import { ConsulError } from './http';

export type Access = 'read' | 'write' | 'deny';

export interface AclRules {
  /** Service-name prefix → access. */
  service?: Record<string, Access>;
  /** KV key prefix → access. */
  key?: Record<string, Access>;
  /** Prepared-query name prefix → access. */
  query?: Record<string, Access>;
}

export interface AclToken extends AclRules {
  accessorId?: string;
  /** Full access, like the bootstrap token. */
  management?: boolean;
}

export interface AclConfig {
  /** Applies where no rule matches; Consul's recommended production setting is deny (default here). */
  defaultPolicy?: 'allow' | 'deny';
  /** Secret ID → token. */
  tokens: Record<string, AclToken>;
  /** Rules of the anonymous token, used when a request carries no token. */
  anonymous?: AclRules;
}

type Resource = keyof AclRules;

export class Authorizer {
  constructor(
    private readonly token: AclToken | undefined,
    private readonly defaultPolicy: 'allow' | 'deny',
    readonly anonymous: boolean,
  ) {}

  /** ACLs disabled: everything is allowed. */
  static allowAll(): Authorizer {
    return new Authorizer({ management: true }, 'allow', true);
  }

  can(resource: Resource, name: string, need: 'read' | 'write'): boolean {
    if (this.token?.management) return true;
    if (!this.token) return this.defaultPolicy === 'allow';
    let best: string | undefined;
    for (const prefix of Object.keys(this.token[resource] ?? {})) {
      if (name.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
    }
    const access: Access | undefined = best === undefined ? undefined : this.token[resource]![best];
    if (access === undefined) return this.defaultPolicy === 'allow';
    return access === 'write' || (access === 'read' && need === 'read');
  }

  /** Throws Consul's 403 unless the token has `need` on `name`. */
  require(resource: Resource, name: string, need: 'read' | 'write'): void {
    if (this.can(resource, name, need)) return;
    const id = this.token?.accessorId ?? '00000000-0000-0000-0000-000000000002';
    throw new ConsulError(403, `Permission denied: token with AccessorID '${id}' lacks permission '${resource}:${need}' on "${name}"`);
  }
}

export class Acl {
  readonly defaultPolicy: 'allow' | 'deny';

  constructor(private readonly config: AclConfig | undefined) {
    this.defaultPolicy = config ? (config.defaultPolicy ?? 'deny') : 'allow';
  }

  get enabled(): boolean {
    return this.config !== undefined;
  }

  /**
   * Token lookup order of agent/http.go parseTokenInternal: `?token=`, `X-Consul-Token`,
   * `Authorization: Bearer`. An unknown secret is 403 `ACL not found`.
   */
  authorize(query: URLSearchParams, headers: Record<string, string | string[] | undefined>): Authorizer {
    if (!this.config) return Authorizer.allowAll();
    const secret = tokenOf(query, headers);
    if (secret === undefined) {
      return new Authorizer(this.config.anonymous ?? {}, this.defaultPolicy, true);
    }
    const token = this.config.tokens[secret];
    if (!token) throw new ConsulError(403, 'ACL not found');
    return new Authorizer(token, this.defaultPolicy, false);
  }
}

function tokenOf(query: URLSearchParams, headers: Record<string, string | string[] | undefined>): string | undefined {
  const q = query.get('token');
  if (q) return q;
  const h = headers['x-consul-token'];
  if (typeof h === 'string' && h !== '') return h;
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const [scheme, value] = auth.trim().split(/\s+/);
    if (scheme?.toLowerCase() === 'bearer' && value) return value;
  }
  return undefined;
}
