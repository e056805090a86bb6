import { ferry } from '../../../core/errors.js';
import type { Tensor } from '../../../core/tensor.js';
import { BatchScorer } from '../../../runtimes/pmml/batch-scorer.js';
import { ensembleRun } from '../../../runtimes/pmml/models/ensemble-run.js';
import { regressionRun } from '../../../runtimes/pmml/models/regression-batch.js';
import { decodeAnyModel } from '../codec.js';
import type { EdgeEvaluator, EdgeModel, PmmlBatchData } from '../types.js';

/**
 * PMML documents the server scores by its batch path (tree ensembles, RegressionModels of numeric
 * predictors): the batch kernel's arrays are the data, scored by the server's own `ensembleRun` or
 * `regressionRun` and `BatchScorer` — without the PMML engine (compiler, expressions, XML), which
 * the package then does not carry.
 */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => {
    const form = decodeAnyModel<PmmlBatchData>(data);
    const { kernel } = form;
    const run = kernel.kind === 'ensemble' ? ensembleRun(kernel.layout) : regressionRun(kernel.layout);
    const scorer = new BatchScorer({ fields: kernel.layout.fields, categories: kernel.layout.categories, run }, form.inputs, form.outputs, form.categoryValues, form.fills);
    const model: EdgeModel = {
      predict(inputs, outputs) {
        try {
          const out = scorer.score(asFloat64(form, inputs), outputs);
          return out ? Promise.resolve(out) : Promise.reject(refusal(form, inputs, outputs));
        } catch (err) {
          return Promise.reject(ferry('FERRY_E_PREDICTION_FAILED', { format: 'PMML', model: label, detail: err instanceof Error ? err.message : String(err) }, err));
        }
      },
    };
    return model;
  },
};

/** Numeric inputs in another numeric type become float64, as the server's general path reads them. */
function asFloat64(form: PmmlBatchData, inputs: Readonly<Record<string, Tensor>>): Readonly<Record<string, Tensor>> {
  let copy: Record<string, Tensor> | undefined;
  for (const spec of form.inputs) {
    const t = inputs[spec.name];
    if (!t || t.data instanceof Float64Array || Array.isArray(t.data) || !ArrayBuffer.isView(t.data)) continue;
    copy ??= { ...inputs };
    copy[spec.name] = { ...t, dtype: 'float64', data: Float64Array.from(t.data as ArrayLike<number>) };
  }
  return copy ?? inputs;
}

/** The server's error for a call its batch path did not score: an absent input, a bad shape or an unknown output. */
function refusal(form: PmmlBatchData, inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Error {
  let rows = -1;
  for (const spec of form.inputs) {
    const t = inputs[spec.name];
    if (!t) return ferry('FERRY_E_INPUT_MISSING', { input: spec.name, expected: `${spec.dtype} [N]`, present: Object.keys(inputs).join(', ') || 'no inputs' });
    if (t.shape.length !== 1 || (rows >= 0 && t.shape[0] !== rows)) {
      return ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `${spec.dtype} [N] (one value per row, N the same for every input)`, actual: `${t.dtype} [${t.shape.join(', ')}]` });
    }
    rows = t.shape[0] ?? 0;
  }
  const names = form.outputs.map((o) => o.spec.name);
  const unknown = (outputs ?? []).find((n) => !names.includes(n));
  if (unknown !== undefined) return ferry('FERRY_E_OUTPUT_UNKNOWN', { output: unknown, outputs: names.join(', ') });
  return ferry('FERRY_E_TENSOR_SHAPE', { input: form.inputs.map((s) => s.name).join(', '), expected: 'float64 [N] numeric columns', actual: 'another type' });
}
