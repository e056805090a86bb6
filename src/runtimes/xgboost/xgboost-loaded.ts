import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime } from '../model-runtime.js';
import { matrixInput, requestedOutputs, scoreOutputs, settle } from '../tree-outputs.js';
import { decodeUbjson } from './ubjson.js';
import { compileModel, computeMargins, ModelError, transformMargins, type CompiledModel } from './xgboost-model.js';
import type { ModelStructure } from '../model-structure.js';
import { xgboostStructure } from './xgboost-structure.js';
import { sniffJson } from './xgboost-sniff.js';

/** A save_model file, parsed and compiled, as a runtime. */
export function loadXgboost(bytes: Uint8Array, label: string): ModelRuntime {
  return new XgboostModel(compileModel(parse(bytes)), label);
}

/** The model document of an artifact (JSON or UBJSON), before compiling. */
export function parse(bytes: Uint8Array): unknown {
  if (sniffJson(bytes)) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ModelError('the file is not valid UTF-8 text');
    }
    try {
      return JSON.parse(jsonWithNaN(text)) as unknown;
    } catch (err) {
      throw new ModelError(`the JSON does not parse (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (bytes[0] === 0x7b) return decodeUbjson(bytes);
  throw new ModelError('expected the JSON or UBJSON written by xgboost\'s save_model (a top-level object with "learner"); binary .model/.bin files from before xgboost 1.0 are not supported, re-save the booster as .json or .ubj');
}

/**
 * xgboost writes NaN (and ±Infinity) as bare tokens, which JSON.parse refuses: the split
 * conditions of categorical nodes are NaN. Outside strings they become null, read back as NaN.
 */
export function jsonWithNaN(text: string): string {
  if (!text.includes('NaN') && !text.includes('Infinity')) return text;
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    const token = text.startsWith('NaN', i) ? 3 : text.startsWith('-Infinity', i) ? 9 : text.startsWith('Infinity', i) ? 8 : 0;
    if (token > 0) {
      out += text.slice(from, i) + 'null';
      i += token - 1;
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

/** Outputs by objective kind. */
function outputsOf(m: CompiledModel): TensorSpec[] {
  const label: TensorSpec = { name: 'label', dtype: 'int64', shape: [-1] };
  switch (m.kind) {
    case 'regression': return [{ name: 'prediction', dtype: 'float32', shape: [-1] }];
    case 'logitraw': return [{ name: 'margin', dtype: 'float32', shape: [-1] }];
    case 'binary': return [{ name: 'probabilities', dtype: 'float32', shape: [-1, 2] }, label];
    case 'softprob': return [{ name: 'probabilities', dtype: 'float32', shape: [-1, m.numGroup] }, label];
    case 'softmax': return [label];
  }
}

/** A compiled model as a runtime; the edge export builds one from the compiled arrays it ships. */
export class XgboostModel implements ModelRuntime {
  readonly format = 'xgboost';
  readonly #model: CompiledModel;
  readonly #signature: ModelSignature;
  readonly #label: string;

  constructor(model: CompiledModel, label: string) {
    this.#model = model;
    this.#label = label;
    const input: TensorSpec = {
      name: 'input',
      dtype: 'float32',
      shape: [-1, model.numFeature],
      ...(model.featureNames ? { columns: model.featureNames } : {}),
      nullable: true,
    };
    this.#signature = { inputs: [input], outputs: outputsOf(model) };
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return settle('XGBoost', this.#label, () => {
      const m = this.#model;
      const { data, rows } = matrixInput(inputs, m.numFeature, 'float32');
      const x = data instanceof Float32Array ? data : Float32Array.from(data);
      const names = requestedOutputs(this.#signature, outputs);
      const scores = transformMargins(m, computeMargins(m, x, rows), rows);
      return scoreOutputs(names, scores, rows, m.numGroup, m.kind === 'binary');
    });
  }

  structure(): Promise<ModelStructure | undefined> {
    return Promise.resolve(xgboostStructure(this.#model));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
