import { mulberry32 } from '../../src/core/random.js';

/** Seeded random numbers for statistical tests (mulberry32 + Box–Muller): same draws every run. */
export function rng(seed: number): { uniform(): number; normal(mean?: number, sd?: number): number; pick<T>(items: readonly T[], weights: readonly number[]): T } {
  const uniform = mulberry32(seed);
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
