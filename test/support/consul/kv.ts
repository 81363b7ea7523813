// One datacenter's KV store (agent/consul/state/kvs.go semantics): entries keep Create/Modify
// indexes, deletes leave tombstones so a blocking recurse on a prefix wakes on deletions and
// its index never drops until the tombstones are reaped.
import { Raft } from './raft';

export interface KvEntry {
  LockIndex: number;
  Key: string;
  Flags: number;
  /** Raw bytes; empty values are stored as null, as Consul reports them. */
  Value: Buffer | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface KvJson {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export function kvJson(e: KvEntry): KvJson {
  return {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: e.Value ? e.Value.toString('base64') : null,
    CreateIndex: e.CreateIndex,
    ModifyIndex: e.ModifyIndex,
  };
}

export class KvStore {
  private readonly entries = new Map<string, KvEntry>();
  private readonly tombstones = new Map<string, number>();
  private tableIndex = 0;

  constructor(private readonly raft: Raft) {
    raft.onRestore((max) => {
      for (const e of this.entries.values()) {
        e.CreateIndex = Math.min(e.CreateIndex, max);
        e.ModifyIndex = Math.min(e.ModifyIndex, max);
      }
      for (const [k, v] of this.tombstones) this.tombstones.set(k, Math.min(v, max));
      this.tableIndex = Math.min(this.tableIndex, max);
    });
  }

  /** A single key, with the index Consul reports: its ModifyIndex, or the table index when absent. */
  get(key: string): { entry?: KvEntry; index: number } {
    const entry = this.entries.get(key);
    return { entry, index: entry ? entry.ModifyIndex : this.tableIndex };
  }

  /** Entries under a prefix, sorted by key; index is the newest change (tombstones included) under it. */
  list(prefix: string): { entries: KvEntry[]; index: number } {
    const entries = [...this.entries.values()].filter((e) => e.Key.startsWith(prefix)).sort((a, b) => (a.Key < b.Key ? -1 : 1));
    if (prefix === '') return { entries, index: this.tableIndex };
    let index = Math.max(0, ...entries.map((e) => e.ModifyIndex));
    for (const [k, v] of this.tombstones) if (k.startsWith(prefix)) index = Math.max(index, v);
    return { entries, index: index || this.tableIndex };
  }

  /** Keys under a prefix, cut after the first separator past the prefix (`?keys&separator=/`). */
  keys(prefix: string, separator: string): { keys: string[]; index: number } {
    const { entries, index } = this.list(prefix);
    const out = new Set<string>();
    for (const e of entries) {
      const cut = separator ? e.Key.indexOf(separator, prefix.length) : -1;
      out.add(cut >= 0 ? e.Key.slice(0, cut + separator.length) : e.Key);
    }
    return { keys: [...out], index };
  }

  /** PUT; with `cas` set, writes only if the key's ModifyIndex equals it (0: only if absent). */
  put(key: string, value: Buffer, flags: number, cas?: number): boolean {
    const prev = this.entries.get(key);
    if (cas !== undefined && (prev ? prev.ModifyIndex !== cas : cas !== 0)) return false;
    this.raft.write((idx) => {
      this.entries.set(key, {
        LockIndex: prev?.LockIndex ?? 0,
        Key: key,
        Flags: flags,
        Value: value.length ? Buffer.from(value) : null,
        CreateIndex: prev?.CreateIndex ?? idx,
        ModifyIndex: idx,
      });
      this.tombstones.delete(key);
      this.tableIndex = idx;
      return true;
    });
    return true;
  }

  /** DELETE; `cas` deletes only on a matching ModifyIndex (cas=0 never deletes). */
  delete(key: string, opts: { recurse?: boolean; cas?: number } = {}): boolean {
    const victims = opts.recurse ? this.list(key).entries.map((e) => e.Key) : this.entries.has(key) ? [key] : [];
    if (opts.cas !== undefined) {
      const e = this.entries.get(key);
      if (!e || opts.cas === 0 || e.ModifyIndex !== opts.cas) return false;
    }
    this.raft.write((idx) => {
      if (victims.length === 0) return false;
      for (const k of victims) {
        this.entries.delete(k);
        this.tombstones.set(k, idx);
      }
      this.tableIndex = idx;
      return true;
    });
    return true;
  }

  /** Drops tombstones, as the periodic reaper does: a recurse index can then go backwards. */
  reapTombstones(): void {
    this.tombstones.clear();
  }

  /** Imports entries shaped like a /v1/kv GET (e.g. a fixture), keeping their indexes. */
  importEntries(entries: readonly KvJson[]): void {
    let max = this.raft.index;
    for (const e of entries) {
      this.entries.set(e.Key, {
        LockIndex: e.LockIndex,
        Key: e.Key,
        Flags: e.Flags,
        Value: e.Value === null ? null : Buffer.from(e.Value, 'base64'),
        CreateIndex: e.CreateIndex,
        ModifyIndex: e.ModifyIndex,
      });
      this.tableIndex = Math.max(this.tableIndex, e.ModifyIndex);
      max = Math.max(max, e.ModifyIndex);
    }
    if (max > this.raft.index) this.raft.restore(max);
    else this.raft.notify();
  }
}
