import { ferry, FerryError } from '../../core/errors.js';
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime, RuntimeFactory, SniffResult } from '../model-runtime.js';
import { compileLightgbm, LgbmError, rawScores, transformScores, type LgbmModel } from './lightgbm-model.js';

/**
 * LightGBM text models (what `Booster.save_model` writes), scored natively: trees compiled once
 * into flat typed arrays and evaluated with LightGBM's double-precision decisions. No Python,
 * no native library.
 */
export const lightgbmRuntime: RuntimeFactory = {
  format: 'lightgbm',

  sniff(bytes: Uint8Array): SniffResult {
    return sniffLightgbm(bytes) ? 'yes' : 'no';
  },

  load(bytes: Uint8Array, _options, label: string): Promise<ModelRuntime> {
    try {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new LgbmError('the file is not valid UTF-8 text (Ferry reads the text model of save_model; re-save binary models as text)');
      }
      return Promise.resolve(new LightgbmModel(compileLightgbm(text), label));
    } catch (err) {
      if (err instanceof FerryError) return Promise.reject(err);
      const detail = err instanceof LgbmError ? err.message : String(err);
      return Promise.reject(ferry('FERRY_E_ARTIFACT_INVALID', { path: label, format: 'LightGBM', detail }, err));
    }
  },
};

const SNIFF_BYTES = 4096;

/** The first line is `tree`, and a `num_class=` or `Tree=` line follows within the first 4 KB. */
export function sniffLightgbm(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  if (bytes[i] !== 0x74 || bytes[i + 1] !== 0x72 || bytes[i + 2] !== 0x65 || bytes[i + 3] !== 0x65) return false; // "tree"
  const head = new TextDecoder().decode(bytes.subarray(i, i + SNIFF_BYTES));
  return /^tree\r?\n/.test(head) && /^(num_class|Tree)=/m.test(head);
}

/** Column names LightGBM invents for unnamed data: not worth declaring as the input's columns. */
function defaultNames(names: readonly string[]): boolean {
  return names.every((n, i) => n === `Column_${i}`);
}

function outputsOf(m: LgbmModel): TensorSpec[] {
  const label: TensorSpec = { name: 'label', dtype: 'int64', shape: [-1] };
  switch (m.kind) {
    case 'regression': return [{ name: 'prediction', dtype: 'float64', shape: [-1] }];
    case 'binary': return [{ name: 'probabilities', dtype: 'float64', shape: [-1, 2] }, label];
    case 'multiclass': return [{ name: 'probabilities', dtype: 'float64', shape: [-1, m.numClass] }, label];
  }
}

class LightgbmModel implements ModelRuntime {
  readonly format = 'lightgbm';
  readonly #model: LgbmModel;
  readonly #signature: ModelSignature;
  readonly #label: string;

  constructor(model: LgbmModel, label: string) {
    this.#model = model;
    this.#label = label;
    // float64: LightGBM compares doubles with double thresholds (float32 input would move values across them).
    const input: TensorSpec = {
      name: 'input',
      dtype: 'float64',
      shape: [-1, model.numFeature],
      ...(defaultNames(model.featureNames) ? {} : { columns: model.featureNames }),
      nullable: true,
    };
    this.#signature = { inputs: [input], outputs: outputsOf(model) };
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    try {
      return Promise.resolve(this.#predict(inputs, outputs));
    } catch (err) {
      return Promise.reject(err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: 'LightGBM', model: this.#label, detail: String(err) }, err));
    }
  }

  #predict(inputs: Readonly<Record<string, Tensor>>, wanted?: readonly string[]): Record<string, Tensor> {
    const m = this.#model;
    const input = inputs.input;
    const expected = `float64 [N, ${m.numFeature}]`;
    if (!input) throw ferry('FERRY_E_INPUT_MISSING', { input: 'input', expected, present: Object.keys(inputs).join(', ') || 'no inputs' });
    const [rows, width] = input.shape;
    const ok = input.data instanceof Float64Array || input.data instanceof Float32Array;
    if (input.shape.length !== 2 || rows === undefined || width !== m.numFeature || !ok) {
      throw ferry('FERRY_E_TENSOR_SHAPE', { input: 'input', expected, actual: `${input.dtype} [${input.shape.join(', ')}]` });
    }
    const names = wanted ?? this.#signature.outputs.map((o) => o.name);
    for (const name of names) {
      if (!this.#signature.outputs.some((o) => o.name === name)) {
        throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: name, outputs: this.#signature.outputs.map((o) => o.name).join(', ') });
      }
    }
    const scores = transformScores(m, rawScores(m, input.data, rows), rows);
    const out: Record<string, Tensor> = {};
    const K = m.numClass;
    for (const name of names) {
      if (name === 'prediction') {
        out[name] = { dtype: 'float64', shape: [rows], data: scores };
      } else if (name === 'probabilities' && m.kind === 'binary') {
        const p = new Float64Array(rows * 2);
        for (let r = 0; r < rows; r++) {
          p[2 * r] = 1 - scores[r]!;
          p[2 * r + 1] = scores[r]!;
        }
        out[name] = { dtype: 'float64', shape: [rows, 2], data: p };
      } else if (name === 'probabilities') {
        out[name] = { dtype: 'float64', shape: [rows, K], data: scores };
      } else if (name === 'label') {
        const labels = new BigInt64Array(rows);
        for (let r = 0; r < rows; r++) {
          if (m.kind === 'binary') {
            labels[r] = scores[r]! > 0.5 ? 1n : 0n;
            continue;
          }
          let best = 0; // first maximum, like numpy's argmax in LGBMClassifier.predict
          for (let k = 1; k < K; k++) if (scores[r * K + k]! > scores[r * K + best]!) best = k;
          labels[r] = BigInt(best);
        }
        out[name] = { dtype: 'int64', shape: [rows], data: labels };
      }
    }
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
