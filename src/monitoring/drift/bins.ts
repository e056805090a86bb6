/** Shares of sorted values falling in the bins (−∞, e₁], (e₁, e₂], …, (eₖ, ∞). */
export function binShares(edges: readonly number[], values: Float64Array, weights?: Float64Array): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let total = 0;
  let b = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    while (b < edges.length && v > (edges[b] as number)) b++;
    const w = weights ? (weights[i] as number) : 1;
    counts[b] = (counts[b] ?? 0) + w;
    total += w;
  }
  return counts.map((c) => c / (total || 1));
}
