/**
 * In place over `out[0, n)`: raw costs (lower is better) become scores in [0,1] by min-max
 * normalisation, as llm-d's queue scorer does: the cheapest scores 1, the dearest 0, and
 * when all are equal every candidate scores 1 (neutral).
 */
export function lowerIsBetter(out: Float64Array, n: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = out[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  for (let i = 0; i < n; i++) out[i] = span > 0 ? (max - out[i]!) / span : 1;
}
