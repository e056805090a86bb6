/**
 * What the gradient-boosting runtimes (XGBoost, LightGBM) share around their tree walks: the
 * one `[N, features]` input they take, the outputs a caller may ask for, and how transformed
 * scores become `prediction`, `probabilities` and `label` tensors.
 */
import { ferry, FerryError } from '../core/errors.js';
import type { ModelSignature } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';

/** Run a synchronous prediction as a Promise; anything but a FerryError becomes FERRY_E_PREDICTION_FAILED. */
export function settle<T>(format: string, label: string, predict: () => T): Promise<T> {
  try {
    return Promise.resolve(predict());
  } catch (err) {
    return Promise.reject(err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format, model: label, detail: String(err) }, err));
  }
}

/** The runtime's single input `input`, checked to be a float matrix `[rows, width]`. */
export function matrixInput(inputs: Readonly<Record<string, Tensor>>, width: number, dtype: 'float32' | 'float64'): { data: Float32Array | Float64Array; rows: number } {
  const input = inputs.input;
  const expected = `${dtype} [N, ${width}]`;
  if (!input) throw ferry('FERRY_E_INPUT_MISSING', { input: 'input', expected, present: Object.keys(inputs).join(', ') || 'no inputs' });
  const [rows, actualWidth] = input.shape;
  const floats = input.data instanceof Float64Array || input.data instanceof Float32Array;
  if (input.shape.length !== 2 || rows === undefined || actualWidth !== width || !floats) {
    throw ferry('FERRY_E_TENSOR_SHAPE', { input: 'input', expected, actual: `${input.dtype} [${input.shape.join(', ')}]` });
  }
  return { data: input.data, rows };
}

/** The outputs to compute: those asked for (each checked against the signature), else all. */
export function requestedOutputs(signature: ModelSignature, wanted: readonly string[] | undefined): readonly string[] {
  const all = signature.outputs.map((o) => o.name);
  if (!wanted) return all;
  for (const name of wanted) {
    if (!all.includes(name)) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: name, outputs: all.join(', ') });
  }
  return wanted;
}

/**
 * Output tensors from transformed scores: one per row (`prediction`, and `margin` when asked),
 * or per row and class. A binary model's one probability becomes two columns [1 − p, p];
 * `label` is p > 0.5, or the first maximum (numpy's argmax) over the classes.
 */
export function scoreOutputs(
  names: readonly string[],
  scores: Float32Array | Float64Array,
  rows: number,
  classes: number,
  binary: boolean,
): Record<string, Tensor> {
  const dtype = scores instanceof Float32Array ? 'float32' : 'float64';
  const out: Record<string, Tensor> = {};
  for (const name of names) {
    if (name === 'prediction' || name === 'margin') {
      out[name] = { dtype, shape: [rows], data: scores };
    } else if (name === 'probabilities' && binary) {
      const p = scores instanceof Float32Array ? new Float32Array(rows * 2) : new Float64Array(rows * 2);
      for (let r = 0; r < rows; r++) {
        p[2 * r] = 1 - scores[r]!;
        p[2 * r + 1] = scores[r]!;
      }
      out[name] = { dtype, shape: [rows, 2], data: p };
    } else if (name === 'probabilities') {
      out[name] = { dtype, shape: [rows, classes], data: scores };
    } else if (name === 'label') {
      const labels = new BigInt64Array(rows);
      for (let r = 0; r < rows; r++) {
        if (binary) {
          labels[r] = scores[r]! > 0.5 ? 1n : 0n;
          continue;
        }
        let best = 0;
        for (let k = 1; k < classes; k++) if (scores[r * classes + k]! > scores[r * classes + best]!) best = k;
        labels[r] = BigInt(best);
      }
      out[name] = { dtype: 'int64', shape: [rows], data: labels };
    }
  }
  return out;
}
