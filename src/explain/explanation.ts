/**
 * The one JSON shape of an explanation, whatever path asked for it (CLI, REST, batch, stream):
 *
 *   {"output_space": "margin", "base_value": 0.4, "contributions": {"age": 0.12, …}, "residual": 0,
 *    "method": "tree-shap", "top_k": [{"name": "age", "value": 0.12, "direction": "increases"}]}
 *
 * Multi-output models give `base_value` and each contribution as one number per class, in class
 * order. Sampled explanations add `"approximate": true` and `error` (standard errors, same shape).
 */
import type { Attributions } from './explainer.js';

export interface ReasonCode {
  readonly name: string;
  readonly value: number;
  readonly direction: 'increases' | 'decreases';
}

export interface Explanation {
  readonly output_space: Attributions['space'];
  readonly base_value: number | number[];
  readonly contributions: Record<string, number | number[]>;
  readonly residual: number;
  readonly method: Attributions['method'];
  readonly approximate?: true;
  readonly error?: Record<string, number | number[]>;
  readonly top_k?: ReasonCode[];
}

/**
 * Reason codes: the model's own when it has them (PMML Scorecard, ranked by its reasonCodeAlgorithm),
 * else the k largest contributions by magnitude (ties: input order). For several outputs, those of
 * the output the row scores highest on.
 */
export function topK(a: Attributions, names: readonly string[], row: number, k: number): ReasonCode[] {
  if (a.reasons) return (a.reasons[row] ?? []).slice(0, Math.max(0, k)).map((c) => ({ ...c }));
  const G = a.groups;
  const F = a.features;
  let g = 0;
  for (let c = 1; c < G; c++) if (a.scores[row * G + c]! > a.scores[row * G + g]!) g = c;
  const at = (row * G + g) * F;
  const order = Array.from({ length: F }, (_, j) => j).sort((i, j) => Math.abs(a.values[at + j]!) - Math.abs(a.values[at + i]!) || i - j);
  return order.slice(0, Math.max(0, k)).map((j) => {
    const value = a.values[at + j]!;
    return { name: names[j]!, value, direction: value >= 0 ? 'increases' : 'decreases' };
  });
}

function perFeature(data: Float64Array, a: Attributions, names: readonly string[], row: number): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  const G = a.groups;
  const F = a.features;
  for (let j = 0; j < F; j++) {
    if (G === 1) out[names[j]!] = data[row * F + j]!;
    else out[names[j]!] = Array.from({ length: G }, (_, g) => data[(row * G + g) * F + j]!);
  }
  return out;
}

/** One explanation per row, in the shape above. `names`: the input column of each feature. */
export function explanationsOf(a: Attributions, names: readonly string[], options: { topK?: number | undefined } = {}): Explanation[] {
  const out: Explanation[] = [];
  for (let r = 0; r < a.rows; r++) {
    out.push({
      output_space: a.space,
      base_value: a.groups === 1 ? a.base[0]! : Array.from(a.base),
      contributions: perFeature(a.values, a, names, r),
      residual: a.residual[r]!,
      method: a.method,
      ...(a.approximate ? { approximate: true as const } : {}),
      ...(a.error ? { error: perFeature(a.error, a, names, r) } : {}),
      ...(options.topK !== undefined && options.topK > 0 ? { top_k: topK(a, names, r, options.topK) } : {}),
    });
  }
  return out;
}
