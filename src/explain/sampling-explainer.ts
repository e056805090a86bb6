/**
 * Model-agnostic Shapley values by permutation sampling (Štrumbelj & Kononenko), for models whose
 * inside Ferry cannot read (ONNX): for each sampled feature order and a background row b drawn
 * from the reference data, features switch from b's value to the row's one at a time, and each
 * switch's change of the score is that feature's marginal contribution. Every order is paired with
 * its reverse (antithetic sampling, lower variance). Each sample's contributions add up exactly to
 * f(x) − f(b), so the residual is the gap between the mean over all background rows (the base
 * value) and the mean over the rows drawn. Labelled approximate, with each value's standard error.
 *
 * Deterministic: the generator is seeded per row from `seed`, so a row gets the same numbers in
 * any batch; the time budget only stops sampling early (the count used is in the error estimate).
 */
import { mulberry32 } from '../core/random.js';
import { ferry } from '../core/errors.js';
import type { Attributions, Explainer, ExplainRequest, OutputSpace } from './explainer.js';
import { residuals } from './explainer.js';
import { checkSpace } from './spaces.js';

export interface SamplingOptions {
  /** Background rows × features, row-major (NaN = missing). */
  readonly background: Float64Array;
  /** Order pairs per row (each pair: an order and its reverse). */
  readonly pairs?: number | undefined;
  /** Stop sampling a batch after this many milliseconds (at least 2 pairs per row are always taken). */
  readonly budgetMs?: number | undefined;
  readonly seed?: number | undefined;
}

/** Scores rows × features → rows × groups, in the explained output. */
export type ScoreFn = (x: Float64Array, rows: number) => Promise<Float64Array>;

export class SamplingExplainer implements Explainer {
  readonly method = 'sampling';
  readonly features: number;
  readonly groups: number;
  readonly spaces: readonly OutputSpace[] = ['raw'];
  readonly #score: ScoreFn;
  readonly #background: Float64Array;
  readonly #backgroundRows: number;
  readonly #pairs: number;
  readonly #budgetMs: number;
  readonly #seed: number;
  readonly #label: string;
  #base: Float64Array | undefined;

  constructor(score: ScoreFn, features: number, groups: number, options: SamplingOptions, label: string) {
    this.#score = score;
    this.features = features;
    this.groups = groups;
    this.#label = label;
    this.#background = options.background;
    this.#backgroundRows = Math.floor(options.background.length / Math.max(1, features));
    if (this.#backgroundRows === 0) throw ferry('FERRY_E_EXPLAIN_BACKGROUND', { model: label, detail: 'the background data has no rows' });
    this.#pairs = Math.max(2, options.pairs ?? 32);
    this.#budgetMs = options.budgetMs ?? 2000;
    this.#seed = options.seed ?? 0x5eed;
  }

  async #baseValue(): Promise<Float64Array> {
    if (this.#base) return this.#base;
    const s = await this.#score(this.#background, this.#backgroundRows);
    const base = new Float64Array(this.groups);
    for (let r = 0; r < this.#backgroundRows; r++) for (let g = 0; g < this.groups; g++) base[g] = base[g]! + s[r * this.groups + g]! / this.#backgroundRows;
    return (this.#base = base);
  }

  async explain(x: Float64Array, rows: number, request: ExplainRequest = {}): Promise<Attributions> {
    const space = checkSpace(request.space, this.spaces, this.#label);
    const F = this.features;
    const G = this.groups;
    const base = await this.#baseValue();
    const sum = new Float64Array(rows * G * F);
    const sq = new Float64Array(rows * G * F);
    const started = Date.now();
    const scores = await this.#score(x, rows);
    let taken = 0;
    // One pass per order pair across all rows: 2·(F + 1) scored rows per row per pass, one model call.
    const rngs = Array.from({ length: rows }, (_, r) => mulberry32(this.#seed ^ hashRow(x, r * F, F)));
    const order = new Int32Array(F);
    const batch = new Float64Array(rows * 2 * (F + 1) * F);
    const orders = new Int32Array(rows * 2 * F);
    for (let pass = 0; pass < this.#pairs; pass++) {
      if (pass >= 2 && Date.now() - started > this.#budgetMs) break;
      for (let r = 0; r < rows; r++) {
        const rand = rngs[r]!;
        for (let j = 0; j < F; j++) order[j] = j;
        for (let j = F - 1; j > 0; j--) {
          const k = Math.floor(rand() * (j + 1));
          const t = order[j]!;
          order[j] = order[k]!;
          order[k] = t;
        }
        const b = Math.floor(rand() * this.#backgroundRows) * F;
        for (let dir = 0; dir < 2; dir++) {
          const o = (r * 2 + dir) * F;
          for (let j = 0; j < F; j++) orders[o + j] = dir === 0 ? order[j]! : order[F - 1 - j]!;
          // Step 0: the background row; step s: its first s features of the order from x.
          let at = (r * 2 + dir) * (F + 1) * F;
          for (let j = 0; j < F; j++) batch[at + j] = this.#background[b + j]!;
          for (let s = 1; s <= F; s++) {
            at += F;
            batch.copyWithin(at, at - F, at);
            const j = orders[o + s - 1]!;
            batch[at + j] = x[r * F + j]!;
          }
        }
      }
      const y = await this.#score(batch, rows * 2 * (F + 1));
      for (let r = 0; r < rows; r++) {
        for (let dir = 0; dir < 2; dir++) {
          const o = (r * 2 + dir) * F;
          const first = (r * 2 + dir) * (F + 1);
          for (let s = 1; s <= F; s++) {
            const j = orders[o + s - 1]!;
            for (let g = 0; g < G; g++) {
              const d = y[(first + s) * G + g]! - y[(first + s - 1) * G + g]!;
              const k = (r * G + g) * F + j;
              sum[k] = sum[k]! + d;
              sq[k] = sq[k]! + d * d;
            }
          }
        }
      }
      taken += 2;
    }
    const values = new Float64Array(rows * G * F);
    const error = new Float64Array(rows * G * F);
    for (let k = 0; k < values.length; k++) {
      const mean = sum[k]! / taken;
      values[k] = mean;
      const variance = Math.max(0, sq[k]! / taken - mean * mean) * (taken / Math.max(1, taken - 1));
      error[k] = Math.sqrt(variance / taken);
    }
    return {
      method: this.method, approximate: true, space, rows, groups: G, features: F, base: Float64Array.from(base), values, scores,
      residual: residuals(base, values, scores, rows, G, F), error,
    };
  }
}

/** A row's values hashed (FNV-1a over their bits), so its generator does not depend on its position. */
function hashRow(x: Float64Array, offset: number, n: number): number {
  const view = new Uint32Array(Float64Array.from(x.subarray(offset, offset + n)).buffer);
  let h = 0x811c9dc5;
  for (const w of view) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return h;
}
