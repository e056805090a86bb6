import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime } from '../model-runtime.js';
import { matrixInput, requestedOutputs, scoreOutputs, settle } from '../tree-outputs.js';
import { LgbmError, rawScores, transformScores, type LgbmModel } from './lightgbm-model.js';
import { compileLightgbm } from './lightgbm-text.js';
import type { ModelStructure } from '../model-structure.js';
import { lightgbmStructure } from './lightgbm-structure.js';

/** A text model file, compiled, as a runtime. */
export function loadLightgbm(bytes: Uint8Array, label: string): ModelRuntime {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LgbmError('the file is not valid UTF-8 text (Ferry reads the text model of save_model; re-save binary models as text)');
  }
  return new LightgbmModel(compileLightgbm(text), label);
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

/** A compiled model as a runtime; the edge export builds one from the compiled arrays it ships. */
export class LightgbmModel implements ModelRuntime {
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
    return settle('LightGBM', this.#label, () => {
      const m = this.#model;
      const { data, rows } = matrixInput(inputs, m.numFeature, 'float64');
      const names = requestedOutputs(this.#signature, outputs);
      const scores = transformScores(m, rawScores(m, data, rows), rows);
      return scoreOutputs(names, scores, rows, m.numClass, m.kind === 'binary');
    });
  }

  structure(): Promise<ModelStructure | undefined> {
    return Promise.resolve(lightgbmStructure(this.#model));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
