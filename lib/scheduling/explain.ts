// A bounded ring of recent routing decisions, for the admin API's `/explain?request_id=`.
// Recording is O(1); the oldest record is overwritten when the ring is full. A request
// recorded twice (a retry) keeps only its latest decision reachable by id.
import type { Decision } from './types';

export type ExplainRecord = NonNullable<Decision['explain']> & { requestId: string; at: number };

export class ExplainLog {
  private readonly ring: (ExplainRecord | undefined)[];
  private readonly byId = new Map<string, ExplainRecord>();
  private next = 0;

  /** `capacity` 0 keeps nothing (config `explain.keep`). */
  constructor(
    readonly capacity: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.ring = new Array<ExplainRecord | undefined>(capacity);
  }

  record(requestId: string, explain: Decision['explain']): void {
    if (explain === undefined || this.capacity === 0) return;
    const rec: ExplainRecord = { ...explain, requestId, at: this.clock() };
    const old = this.ring[this.next];
    if (old !== undefined && this.byId.get(old.requestId) === old) this.byId.delete(old.requestId);
    this.ring[this.next] = rec;
    this.byId.set(requestId, rec);
    this.next = (this.next + 1) % this.capacity;
  }

  get(requestId: string): ExplainRecord | undefined {
    return this.byId.get(requestId);
  }

  /** Up to `n` most recent records, newest first. */
  recent(n: number): ExplainRecord[] {
    const out: ExplainRecord[] = [];
    for (let k = 1; k <= Math.min(n, this.capacity); k++) {
      const rec = this.ring[(this.next - k + this.capacity) % this.capacity];
      if (rec === undefined) break;
      out.push(rec);
    }
    return out;
  }
}
