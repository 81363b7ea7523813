// Everything one datacenter owns: its Raft index, catalog, KV store and prepared queries.
import { Catalog } from './catalog';
import { KvStore } from './kv';
import { PreparedQueries } from './queries';
import { Raft } from './raft';

export class Datacenter {
  readonly raft: Raft;
  readonly catalog: Catalog;
  readonly kv: KvStore;
  readonly queries: PreparedQueries;

  constructor(
    readonly name: string,
    initialIndex: number,
  ) {
    this.raft = new Raft(initialIndex);
    this.catalog = new Catalog(name, this.raft);
    this.kv = new KvStore(this.raft);
    this.queries = new PreparedQueries(this.raft);
  }
}
