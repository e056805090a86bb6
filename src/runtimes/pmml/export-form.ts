/**
 * A top-level model in a form an export can write in another language (SQL): a tree or tree
 * ensemble as one flat ensemble layout, or a model linear in its numeric inputs, with the result
 * plan the batch path reads; or why it cannot be written.
 */
import type { ExportForm } from './model.js';
import { resultPlan, type CompiledParts } from './batch-plan.js';
import { parseFor } from './expressions.js';
import { compileEnsemble } from './models/ensemble.js';
import { attr, children, type XmlElement } from './xml.js';

/** What the form is made from: the model element and what its compilation found. */
export interface FormSource extends CompiledParts {
  readonly el: XmlElement;
  readonly top: boolean;
  /** LocalTransformations or TransformationDictionary fields. */
  readonly derives: boolean;
  /** MiningFields with a treatment: identity, or a numeric missing-value replacement (fill). */
  readonly treated: readonly { readonly name: string; readonly identity: boolean; readonly fill?: number }[];
  readonly targets: boolean;
  /** Chained or selected segments (modelChain, selectFirst, selectAll). */
  readonly selects: boolean;
}

/** The model's export form, or why it has none. */
export function exportFormOf(m: FormSource): ExportForm | string {
  const { el, kernel, functionName, targetFields, scope, outputEl, output, numericInput } = m;
  const numericKernel = kernel.numeric;
  if (!m.top) return 'not a top-level model';
  if (m.derives) return 'it derives fields (LocalTransformations or a TransformationDictionary)';
  const treatedOther = m.treated.find((f) => !f.identity && f.fill === undefined);
  if (treatedOther) return `the MiningSchema treats field "${treatedOther.name}" (only a numeric missingValueReplacement is written)`;
  if (m.targets) return 'it has Targets (the score is rescaled or cast)';
  if (m.selects) return 'its segments are chained or selected (modelChain, selectFirst, selectAll)';
  const fills = new Map(m.treated.flatMap((f) => (f.fill === undefined ? [] : [[f.name, f.fill] as const])));
  const categories = targetFields[0]?.values ?? [];
  const tree = !kernel.batch && numericKernel?.binary && numericKernel.fields.every(numericInput) && (functionName === 'regression' || functionName === 'classification')
    ? compileEnsemble({
      method: functionName === 'regression' ? 'sum' : 'average', classification: functionName === 'classification', fields: numericKernel.fields,
      segments: [{ numeric: numericKernel, slots: Int32Array.from(numericKernel.fields, (_, i) => i), weight: 1 }],
      categories, categoryValues: categories.map((c) => parseFor(scope, targetFields[0]!.name, c)),
    })
    : undefined;
  const ensemble = kernel.batch ?? tree;
  if (ensemble?.layout) {
    const layout = ensemble.layout();
    if (!layout.fields.every(numericInput)) return 'a tree reads a field that is not a numeric input';
    const plan = resultPlan(ensemble.categories, outputEl, targetFields, output, functionName);
    return plan ? { kind: 'ensemble', layout, plan, fills } : 'an OutputField is not the predicted value or a declared category\'s probability';
  }
  const lin = kernel.linear;
  if (lin && !lin.categorical && lin.fields.every(numericInput) && el.name === 'RegressionModel') {
    const cats = functionName === 'classification' ? children(el, 'RegressionTable').map((t) => attr(t, 'targetCategory') ?? '') : [];
    const plan = resultPlan(cats, outputEl, targetFields, output, functionName);
    return plan ? { kind: 'linear', linear: lin, categories: cats, plan, fills } : 'an OutputField is not the predicted value or a declared category\'s probability';
  }
  if (kernel.batch?.layout || numericKernel?.binary) return 'its trees are not all binary splits on numeric inputs with outcomes of the declared categories';
  if (el.name === 'MiningModel') return 'its segments are not all <True/> binary trees combined by sum, average, weightedAverage or weightedSum (regression) or average, weightedAverage or sum (classification)';
  if (el.name === 'RegressionModel') return 'its regression tables are not linear in numeric inputs (exponents, interaction terms or categorical predictors), or its normalizationMethod has no closed form here (none, logit, exp, softmax)';
  return `<${el.name}> models are not written in SQL (TreeModel, RegressionModel and MiningModel ensembles of trees are)`;
}
