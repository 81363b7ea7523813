/** Records callback values and lets a test await the next one (no polling, no sleeps). */
export function recorder<T>() {
  const seen: T[] = [];
  let waiting: ((v: T) => void) | undefined;
  return {
    seen,
    push: (v: T) => {
      seen.push(v);
      const w = waiting;
      waiting = undefined;
      w?.(v);
    },
    next: () => new Promise<T>((resolve) => (waiting = resolve)),
  };
}
