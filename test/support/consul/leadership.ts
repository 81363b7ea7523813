// Cluster-leader state as clients see it (agent/consul/rpc.go, features/consistency.mdx):
// without a leader, default and `consistent` reads and every write fail with
// 500 `No cluster leader`; `stale` reads still work and report how long ago the leader
// was last heard from.
import type { Consistency } from './blocking';
import { ConsulError } from './http';

export class Leadership {
  private lostAt: number | undefined;

  get hasLeader(): boolean {
    return this.lostAt === undefined;
  }

  set(hasLeader: boolean): void {
    if (hasLeader) this.lostAt = undefined;
    else this.lostAt ??= Date.now();
  }

  requireForRead(consistency: Consistency): void {
    if (!this.hasLeader && consistency !== 'stale') throw new ConsulError(500, 'No cluster leader');
  }

  requireForWrite(): void {
    if (!this.hasLeader) throw new ConsulError(500, 'No cluster leader');
  }

  /** setMeta's headers, in Go's canonical wire spelling (X-Consul-Knownleader, …). */
  metaHeaders(index: number, consistency: Consistency): Record<string, string> {
    return {
      'X-Consul-Effective-Consistency': consistency,
      'X-Consul-Index': String(Math.max(1, index)),
      'X-Consul-Knownleader': String(this.hasLeader),
      'X-Consul-Lastcontact': String(this.lostAt === undefined ? 0 : Date.now() - this.lostAt),
      'X-Consul-Query-Backend': 'blocking-query',
    };
  }
}
