/**
 * The distribution functions the drift tests need, written out so that their accuracy is
 * known: log-gamma (Lanczos), the regularised incomplete gamma functions (series and
 * continued fraction, as in Numerical Recipes §6.2), the normal CDF through erfc = Q(½, x²),
 * the chi-square survival function and the Kolmogorov distribution. test/drift-stats.test.ts
 * checks them against SciPy values computed once and committed.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-15;
const MAX_ITER = 10_000;

/** Regularised lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  if (!Number.isFinite(x)) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the far tail. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < MAX_ITER; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by Lentz's continued fraction (x ≥ a + 1). */
function gammaContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Complementary error function. */
export function erfc(x: number): number {
  return x >= 0 ? gammaQ(0.5, x * x) : 1 + gammaP(0.5, x * x);
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Survival function of the chi-square distribution: P(X² ≥ x) with `df` degrees of freedom. */
export function chiSquareSf(x: number, df: number): number {
  if (df <= 0) return Number.NaN;
  return gammaQ(df / 2, x / 2);
}

/**
 * Kolmogorov's limiting distribution, P(K > λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}
 * (scipy.special.kolmogorov). For small λ the alternating series converges slowly, so the
 * complementary form √(2π)/λ Σ e^{−(2j−1)²π²/(8λ²)} is used there.
 */
export function kolmogorovSf(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    const k = Math.PI * Math.PI / (8 * lambda * lambda);
    let cdf = 0;
    for (let j = 1; j < 100; j++) {
      const term = Math.exp(-(2 * j - 1) * (2 * j - 1) * k);
      cdf += term;
      if (term < 1e-17) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / lambda) * cdf;
  }
  let sum = 0;
  for (let j = 1; j < 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.max(0, Math.min(1, 2 * sum));
}

/**
 * Two-sided p-value of the two-sample Kolmogorov–Smirnov statistic D for sample sizes n and m:
 * the asymptotic distribution with Stephens' small-sample correction,
 * λ = (√nₑ + 0.12 + 0.11/√nₑ)·D with nₑ = nm/(n+m) (Numerical Recipes `probks`).
 */
export function ksTwoSampleP(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  const ne = (n * m) / (n + m);
  const s = Math.sqrt(ne);
  return kolmogorovSf((s + 0.12 + 0.11 / s) * d);
}

/**
 * Sort doubles ascending (NaN last), by LSD radix sort on their bit patterns: 4 passes of 16
 * bits. V8's TypedArray#sort takes ~25 ms for 100 000 values; this takes a few, which is what
 * keeps drift over 100 000 rows × 30 columns under a second.
 */
export function sortFloat64(input: Float64Array): Float64Array {
  const n = input.length;
  if (n < 512) return Float64Array.from(input).sort();
  let keys = new Float64Array(input);
  let k32 = new Uint32Array(keys.buffer);
  // Order-preserving transform: flip every bit of negatives, only the sign bit of the rest.
  for (let i = 0; i < n; i++) {
    const hi = k32[2 * i + 1] as number;
    if (hi & 0x80000000) {
      k32[2 * i + 1] = ~hi >>> 0;
      k32[2 * i] = ~(k32[2 * i] as number) >>> 0;
    } else {
      k32[2 * i + 1] = (hi | 0x80000000) >>> 0;
    }
  }
  let other = new Float64Array(n);
  let o32 = new Uint32Array(other.buffer);
  const counts = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass < 2 ? 0 : 1;
    const shift = (pass % 2) * 16;
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const d = ((k32[2 * i + word] as number) >>> shift) & 0xffff;
      counts[d] = (counts[d] as number) + 1;
    }
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = counts[b] as number;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const d = ((k32[2 * i + word] as number) >>> shift) & 0xffff;
      const j = (counts[d] as number);
      counts[d] = j + 1;
      o32[2 * j] = k32[2 * i] as number;
      o32[2 * j + 1] = k32[2 * i + 1] as number;
    }
    [keys, other] = [other, keys];
    [k32, o32] = [o32, k32];
  }
  for (let i = 0; i < n; i++) {
    const hi = k32[2 * i + 1] as number;
    if (hi & 0x80000000) {
      k32[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
    } else {
      k32[2 * i + 1] = ~hi >>> 0;
      k32[2 * i] = ~(k32[2 * i] as number) >>> 0;
    }
  }
  return keys;
}
