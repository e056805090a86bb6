/**
 * A mergeable quantile sketch: KLL (Karnin, Lang & Liberty 2016), written by hand.
 *
 * Values live in levels; an item at level h stands for 2^h original values. When the
 * sketch holds more than its capacity, the lowest full level is sorted and every other item
 * (from a coin-flipped offset) moves up one level — a "compaction", which halves that
 * level. Capacities shrink by 2/3 per level below the top, so the sketch keeps O(k) items
 * whatever the stream length. With k = 1024 (whylogs' `large_kll_k`):
 *  - up to 1024 values are kept exactly (no compaction happens before that), so reference
 *    data of up to 1000 rows — where the KS and chi-square tests apply — is exact;
 *  - beyond that the normalised rank error is about 1.65/k ≈ 0.2 % (99 % confidence,
 *    Apache DataSketches' published bound for KLL), checked in test/profile.test.ts.
 * Sketches merge by concatenating levels and compacting, so merge(a, b) has the same error
 * bound as a sketch of a ∪ b. The coin is a seeded PRNG so results are reproducible.
 */
export class KllSketch {
  readonly k: number;
  #levels: number[][];
  #n = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  #seed: number;

  constructor(k = 1024, seed = 0x9e3779b9) {
    this.k = k;
    this.#levels = [[]];
    this.#seed = seed >>> 0;
  }

  /** Values seen (the weight of all retained items). */
  get n(): number { return this.#n; }
  get min(): number { return this.#min; }
  get max(): number { return this.#max; }
  /** Items held (memory). */
  get retained(): number { return this.#levels.reduce((s, l) => s + l.length, 0); }
  /** Whether every value seen is still held (no compaction yet). */
  get exact(): boolean { return this.#levels.length === 1; }

  update(x: number): void {
    if (Number.isNaN(x)) return;
    (this.#levels[0] as number[]).push(x);
    this.#n++;
    if (x < this.#min) this.#min = x;
    if (x > this.#max) this.#max = x;
    if ((this.#levels[0] as number[]).length >= this.#capacity(0)) this.#compress();
  }

  /** Fold another sketch (same k) into this one. */
  merge(other: KllSketch): this {
    for (let h = 0; h < other.#levels.length; h++) {
      if (h >= this.#levels.length) this.#levels.push([]);
      (this.#levels[h] as number[]).push(...(other.#levels[h] as number[]));
    }
    this.#n += other.#n;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
    this.#seed = (this.#seed ^ other.#seed) >>> 0 || 1;
    this.#compress();
    return this;
  }

  /** Retained items sorted by value, with their weights. */
  sorted(): { values: Float64Array; weights: Float64Array } {
    const total = this.retained;
    const pairs = new Float64Array(total);
    const weightsOf = new Float64Array(total);
    let i = 0;
    this.#levels.forEach((level, h) => {
      for (const v of level) {
        pairs[i] = v;
        weightsOf[i++] = 2 ** h;
      }
    });
    const order = Array.from({ length: total }, (_, j) => j).sort((a, b) => (pairs[a] as number) - (pairs[b] as number));
    const values = new Float64Array(total);
    const weights = new Float64Array(total);
    order.forEach((j, r) => {
      values[r] = pairs[j] as number;
      weights[r] = weightsOf[j] as number;
    });
    return { values, weights };
  }

  /** The value at normalised rank q ∈ [0, 1] (inverse CDF, lower value on ties). */
  quantile(q: number): number {
    if (this.#n === 0) return Number.NaN;
    if (q <= 0) return this.#min;
    if (q >= 1) return this.#max;
    const { values, weights } = this.sorted();
    const total = weights.reduce((a, b) => a + b, 0);
    const target = q * total;
    let acc = 0;
    for (let i = 0; i < values.length; i++) {
      acc += weights[i] as number;
      if (acc >= target) return values[i] as number;
    }
    return this.#max;
  }

  /**
   * `quantile` at each of `qs`, sorting the retained items once (a `quantile` call sorts them
   * every time: 64 background rows × 30 columns were 1 920 sorts).
   */
  quantiles(qs: readonly number[]): Float64Array {
    const out = new Float64Array(qs.length);
    if (this.#n === 0) return out.fill(Number.NaN);
    const { values, weights } = this.sorted();
    const cumulative = new Float64Array(weights.length);
    let acc = 0;
    for (let i = 0; i < weights.length; i++) cumulative[i] = acc += weights[i] as number;
    qs.forEach((q, k) => {
      if (q <= 0) out[k] = this.#min;
      else if (q >= 1) out[k] = this.#max;
      else {
        // The first retained item whose cumulative weight reaches q × total (as `quantile`).
        const target = q * acc;
        let lo = 0;
        let hi = cumulative.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((cumulative[mid] as number) >= target) hi = mid;
          else lo = mid + 1;
        }
        out[k] = lo < values.length ? values[lo] as number : this.#max;
      }
    });
    return out;
  }

  /** Estimated share of values ≤ x. */
  cdf(x: number): number {
    const { values, weights } = this.sorted();
    let below = 0;
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      total += weights[i] as number;
      if ((values[i] as number) <= x) below += weights[i] as number;
    }
    return total === 0 ? Number.NaN : below / total;
  }

  /** Plain JSON: levels as arrays of numbers. */
  toJSON(): { k: number; n: number; min: number | null; max: number | null; seed: number; levels: number[][] } {
    return { k: this.k, n: this.#n, min: this.#n ? this.#min : null, max: this.#n ? this.#max : null, seed: this.#seed, levels: this.#levels.map((l) => [...l]) };
  }

  static fromJSON(json: ReturnType<KllSketch['toJSON']>): KllSketch {
    const s = new KllSketch(json.k, json.seed);
    s.#levels = json.levels.map((l) => [...l]);
    if (s.#levels.length === 0) s.#levels = [[]];
    s.#n = json.n;
    s.#min = json.min ?? Number.POSITIVE_INFINITY;
    s.#max = json.max ?? Number.NEGATIVE_INFINITY;
    return s;
  }

  #capacity(h: number): number {
    const depth = this.#levels.length - 1 - h;
    return Math.max(2, Math.ceil(this.k * (2 / 3) ** depth));
  }

  #compress(): void {
    for (;;) {
      const total = this.retained;
      const capacity = this.#levels.reduce((s, _l, h) => s + this.#capacity(h), 0);
      if (total < capacity) return;
      const h = this.#levels.findIndex((l, i) => l.length >= this.#capacity(i));
      if (h < 0) return;
      if (h + 1 >= this.#levels.length) this.#levels.push([]);
      const level = (this.#levels[h] as number[]).sort((a, b) => a - b);
      // An odd item out stays at this level; the rest are halved into the next one.
      const keep = level.length % 2 === 1 ? [level.shift() as number] : [];
      const offset = this.#coin();
      const up = this.#levels[h + 1] as number[];
      for (let i = offset; i < level.length; i += 2) up.push(level[i] as number);
      this.#levels[h] = keep;
    }
  }

  /** xorshift32: 0 or 1. */
  #coin(): number {
    let x = this.#seed || 1;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed & 1;
  }
}
