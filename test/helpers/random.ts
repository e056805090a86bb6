/** Seeded random numbers for statistical tests (mulberry32 + Box–Muller): same draws every run. */
export function rng(seed: number): { uniform(): number; normal(mean?: number, sd?: number): number; pick<T>(items: readonly T[], weights: readonly number[]): T } {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal(mean = 0, sd = 1) {
      const u = 1 - uniform();
      const v = uniform();
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    pick(items, weights) {
      const total = weights.reduce((s, w) => s + w, 0);
      let x = uniform() * total;
      for (let i = 0; i < items.length; i++) {
        x -= weights[i] as number;
        if (x <= 0) return items[i] as (typeof items)[number];
      }
      return items[items.length - 1] as (typeof items)[number];
    },
  };
}
