import type { Frame } from '../core/frame.js';
import type { ModelSignature, TensorSpec } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';
import type { ScoredOutputs } from './log-confidence.js';

/** The inputs of a scored request, as the caller already holds them (no copy is made). */
export type ScoredInputs =
  | { readonly kind: 'tensors'; readonly tensors: Readonly<Record<string, Tensor>> }
  /** A Frame and the indexes of its rows that were scored (rejected rows are not logged). */
  | { readonly kind: 'frame'; readonly frame: Frame; readonly rows: readonly number[] };

/**
 * Serialises logged rows to the compact JSON objects stored in `prediction_log.inputs` and
 * `.outputs`. Runs in the background writer, never on the request path. Key prefixes are
 * built once per signature; numbers are written directly (NaN/±Infinity → null, int64 →
 * number), so a 30-feature row costs a string concatenation, not a JSON.stringify of objects.
 */
export class RowEncoder {
  readonly #inputs: readonly InputPlan[];

  constructor(signature: ModelSignature) {
    this.#inputs = signature.inputs.map(planInput);
  }

  /** Inputs of row `r` as a JSON object. */
  inputs(inputs: ScoredInputs, r: number): string {
    if (inputs.kind === 'frame') {
      const row = inputs.rows[r] ?? r;
      let s = '{';
      for (const name of inputs.frame.columns) {
        const col = inputs.frame.column(name);
        s += `${s.length > 1 ? ',' : ''}${JSON.stringify(name)}:${json(col?.[row] ?? null)}`;
      }
      return `${s}}`;
    }
    let s = '{';
    for (const plan of this.#inputs) {
      const t = inputs.tensors[plan.name];
      if (!t) continue;
      const width = plan.width ?? (t.shape.slice(1).reduce((a, b) => a * b, 1));
      const offset = r * width;
      if (plan.keys && plan.keys.length === width) {
        for (let j = 0; j < width; j++) s += (s.length > 1 ? ',' : '') + (plan.keys[j] as string) + element(t, offset + j);
      } else {
        s += (s.length > 1 ? ',' : '') + plan.key;
        if (width === 1) s += element(t, offset);
        else {
          s += '[';
          for (let j = 0; j < width; j++) s += (j > 0 ? ',' : '') + element(t, offset + j);
          s += ']';
        }
      }
    }
    return `${s}}`;
  }

  /** Outputs of row `r` as a JSON object (a scalar per row, else a flat array in row-major order). */
  outputs(outputs: ScoredOutputs, r: number, rows: number): string {
    let s = '{';
    if (outputs.kind === 'columns') {
      for (const col of outputs.columns) s += `${s.length > 1 ? ',' : ''}${JSON.stringify(col.name)}:${json(col.values[r] ?? null)}`;
      return `${s}}`;
    }
    for (const [name, t] of Object.entries(outputs.tensors)) {
      const width = rows > 0 ? t.data.length / rows : 0;
      s += `${s.length > 1 ? ',' : ''}${JSON.stringify(name)}:`;
      if (width === 1) s += element(t, r);
      else {
        s += '[';
        for (let j = 0; j < width; j++) s += (j > 0 ? ',' : '') + element(t, r * width + j);
        s += ']';
      }
    }
    return `${s}}`;
  }
}

interface InputPlan {
  readonly name: string;
  /** `"name":` */
  readonly key: string;
  /** `"column":` per element, when the input has a column mapping. */
  readonly keys: readonly string[] | undefined;
  readonly width: number | undefined;
}

function planInput(spec: TensorSpec): InputPlan {
  const rest = spec.shape.slice(1);
  const width = rest.some((d) => d < 0) ? undefined : rest.reduce((a, b) => a * b, 1);
  return {
    name: spec.name,
    key: `${JSON.stringify(spec.name)}:`,
    keys: spec.columns?.map((c) => `${JSON.stringify(c)}:`),
    width,
  };
}

function element(t: Tensor, i: number): string {
  const v = t.data[i];
  if (typeof v === 'number') {
    if (t.dtype === 'bool') return v !== 0 ? 'true' : 'false';
    return Number.isFinite(v) ? String(v) : 'null';
  }
  if (typeof v === 'bigint') return String(Number(v));
  if (typeof v === 'string') return JSON.stringify(v);
  return 'null';
}

function json(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'bigint') return String(Number(v));
  if (v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(json).join(',')}]`;
  return JSON.stringify(v);
}
