// Dense small-integer slots for backend ids, so per-backend state can live in typed arrays
// indexed by slot instead of maps of objects. Released slots are reused.
export class SlotTable {
  private readonly ids = new Map<string, number>();
  private readonly free: number[] = [];
  private next = 0;

  /** One past the highest slot ever handed out: the length per-slot arrays need. */
  get capacity(): number {
    return this.next;
  }

  /** The id's slot, assigned on first use. */
  slot(id: string): number {
    let s = this.ids.get(id);
    if (s === undefined) {
      s = this.free.pop() ?? this.next++;
      this.ids.set(id, s);
    }
    return s;
  }

  peek(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** Frees the id's slot and returns it (undefined if it had none). */
  release(id: string): number | undefined {
    const s = this.ids.get(id);
    if (s !== undefined) {
      this.ids.delete(id);
      this.free.push(s);
    }
    return s;
  }
}

/** `arr` if it has at least `n` entries, else a larger zeroed copy. */
export function grow<T extends Float64Array | Int32Array>(arr: T, n: number): T {
  if (arr.length >= n) return arr;
  const bigger = new (arr.constructor as new (n: number) => T)(Math.max(n, arr.length * 2));
  bigger.set(arr);
  return bigger;
}
