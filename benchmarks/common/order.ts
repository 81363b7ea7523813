// The order setups run in, round by round: a Williams design (a balanced Latin square).
// Rotating one fixed list puts every setup in every position, but always behind the same
// neighbour; when a run leaves something behind for the next (the shared backend busy
// with the last run's connections, its garbage, a hot cache), the same setup pays for it
// every round. Here each setup also follows each other setup equally often: once over
// n rounds for an even n, once over 2n rounds (the rows, then the rows reversed) for an
// odd n.

/** Indices 0…n-1 in the order of round `round` (any round ≥ 0; the design repeats). */
export function roundOrder(n: number, round: number): number[] {
  if (n <= 0) return [];
  // First row: 0, 1, n-1, 2, n-2, 3, …; row r adds r to each (mod n).
  const first: number[] = [0];
  for (let lo = 1, hi = n - 1; first.length < n; ) {
    first.push(lo++);
    if (first.length < n) first.push(hi--);
  }
  const rows = n % 2 === 0 ? n : 2 * n;
  const r = round % rows;
  const row = first.map((x) => (x + r) % n);
  return r < n ? row : row.reverse();
}
