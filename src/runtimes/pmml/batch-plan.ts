/**
 * Whether a compiled model can take the batch path, and how its results read the batch kernel's
 * arrays (the predicted value or one category's probability). The SQL export's form reads the
 * same plan (export-form.ts).
 */
import type { TreeStructure } from '../model-structure.js';
import type { BatchKernel, FieldInfo, ModelKernel, NumericKernel } from './types.js';
import type { ResultPlan, BatchResult, TopBatch } from './model.js';
import { parseFor } from './expressions.js';
import { compileEnsemble } from './models/ensemble.js';
import { byCategory, type OutputPlan } from './output.js';
import type { Scope } from './scope.js';
import { attr, children, type XmlElement } from './xml.js';
import { castResult, isNumeric, toType, valueKey } from './values.js';

/** What compiling a model element found: its kernel, fields, scope and Output (read by the batch planner and the SQL export's form). */
export interface CompiledParts {
  readonly kernel: ModelKernel;
  readonly functionName: string;
  readonly targetFields: readonly FieldInfo[];
  readonly scope: Scope;
  readonly outputEl: XmlElement | undefined;
  readonly output: OutputPlan;
  readonly numericInput: (name: string) => boolean;
}

/** What a top-level model's batch path is planned from (a model without Targets or chained results). */
export interface TopBatchSource extends CompiledParts {
  /** LocalTransformations, and any derived field (TransformationDictionary included). */
  readonly lt: boolean;
  readonly derives: boolean;
  readonly treated: readonly { readonly name: string; readonly typed: boolean; readonly identity: boolean; readonly fill?: number }[];
  /** The model reads its inputs as they are. */
  readonly passThrough: boolean;
}

/**
 * A top-level model's batch path — its kernel's batch form, or a standalone TreeModel as a
 * one-tree ensemble when that answers exactly as the tree — and, for explanations, a single
 * tree's structure.
 */
export function topBatch(m: TopBatchSource): { readonly batch?: TopBatch; readonly tree?: () => TreeStructure | undefined } {
  const { kernel, outputEl, targetFields, output, functionName } = m;
  // The batch path reads its inputs as they are but for missing values of fields whose one treatment
  // is a numeric missingValueReplacement (fill): it puts those numbers in before the walk.
  if (m.lt || m.derives || !m.treated.every((f) => f.typed && (f.identity || f.fill !== undefined))) return {};
  const fillOf = new Map(m.treated.flatMap((f) => (f.fill === undefined ? [] : [[f.name, f.fill] as const])));
  const withFills = (plan: TopBatch | undefined): TopBatch | undefined => {
    if (!plan || fillOf.size === 0) return plan;
    const fills = Float64Array.from(plan.kernel.fields, (name) => fillOf.get(name) ?? Number.NaN);
    return fills.some((v) => !Number.isNaN(v)) ? { ...plan, fills } : plan;
  };
  if (kernel.batch) {
    const batch = withFills(batchPlan(kernel.batch, outputEl, targetFields, output, functionName));
    return batch ? { batch } : {};
  }
  const numericKernel = kernel.numeric;
  const single = numericKernel?.binary && numericKernel.fields.every(m.numericInput) && (functionName === 'regression' || functionName === 'classification')
    ? compileEnsemble({
      method: functionName === 'regression' ? 'sum' : 'average', classification: functionName === 'classification', fields: numericKernel.fields,
      segments: [{ numeric: numericKernel, slots: Int32Array.from(numericKernel.fields, (_, i) => i), weight: 1 }],
      categories: targetFields[0]?.values ?? [], categoryValues: (targetFields[0]?.values ?? []).map((c) => parseFor(m.scope, targetFields[0]!.name, c)),
    })
    : undefined;
  if (!single) return {};
  // Explanations read the tree as it is: only when no fill changes its inputs.
  const tree = m.passThrough && single.structure ? (): TreeStructure | undefined => single.structure?.() : undefined;
  // A standalone TreeModel scored as a one-tree ensemble, when that gives every leaf exactly the tree's own prediction.
  const singlePlan = batchPlan(single, outputEl, targetFields, output, functionName);
  const batch = singlePlan && sameAsTree(singlePlan, numericKernel!, targetFields[0]!) ? withFills(singlePlan) : undefined;
  return { ...(batch ? { batch } : {}), ...(tree ? { tree } : {}) };
}

/**
 * The batch path's results, when every one is the target's predicted value or a declared category's
 * probability (OutputFields with no expression, no other target, the same data type as the general
 * path would give); undefined otherwise.
 */
function batchPlan(kernel: BatchKernel, outputEl: XmlElement | undefined, targetFields: readonly FieldInfo[], output: OutputPlan, functionName: string): TopBatch | undefined {
  const plan = resultPlan(kernel.categories, outputEl, targetFields, output, functionName);
  return plan ? { kernel, ...plan } : undefined;
}

/**
 * Whether a one-tree ensemble (a standalone TreeModel's batch path) answers exactly what the tree
 * does at every node a walk can end at: regression, the leaf's own number (already of the target's
 * type); classification, a ScoreDistribution whose first highest probability, in the target's
 * category order (the ensemble's pick), is the node's own score, typed as the general path casts
 * it. A node with no score and no distribution is no prediction on both paths. Anything else —
 * a score that is not the distribution's pick, a score without a distribution (the general path
 * then has no probabilities), a distribution without a score — keeps the row path.
 */
function sameAsTree(plan: TopBatch, numeric: NumericKernel, target: FieldInfo): boolean {
  const layout = plan.kernel.layout?.();
  const outcomes = numeric.outcomes;
  if (!layout || !outcomes || layout.root.length !== 1 || layout.kind.length !== outcomes.length) return false;
  const K = layout.categories.length;
  for (let i = 0; i < outcomes.length; i++) {
    const p = outcomes[i]!;
    if (layout.kind[i] === 0) {
      if (p.value !== null || p.probabilities) return false;
      continue;
    }
    if (p.value === null) return false;
    const own = castResult(target, p.value);
    if (!layout.classification) {
      if (typeof p.value !== 'number' || !Object.is(own, p.value) || !Object.is(layout.leafValue[i], p.value)) return false;
      continue;
    }
    if (!p.probabilities) return false;
    let best = 0;
    for (let k = 1; k < K; k++) if (layout.leafVector[i * K + k]! > layout.leafVector[i * K + best]!) best = k;
    const pick = plan.categoryValues[best];
    if (pick === undefined || pick === null || own === null || typeof pick !== typeof own || valueKey(pick) !== valueKey(own)) return false;
  }
  return true;
}

/** How each result reads a kernel's value and per-category probabilities (`categories` empty for regression). */
export function resultPlan(categories: readonly string[], outputEl: XmlElement | undefined, targetFields: readonly FieldInfo[], output: OutputPlan, functionName: string): ResultPlan | undefined {
  const target = targetFields[0];
  if (!target || targetFields.length !== 1) return undefined;
  const classification = categories.length > 0;
  if (classification !== (functionName === 'classification')) return undefined;
  if (!classification && !isNumeric(target.dataType)) return undefined;
  const results = new Map<string, BatchResult>([[target.name, { kind: 'value' }]]);
  const catIndex = new Map(categories.map((c, i) => [c, i]));
  const fieldEls = outputEl ? children(outputEl, 'OutputField') : [];
  if (fieldEls.length !== output.fields.length) return undefined;
  for (let i = 0; i < fieldEls.length; i++) {
    const el = fieldEls[i]!;
    const info = output.fields[i]!.info;
    if (el.children.length > 0) return undefined;
    const targetField = attr(el, 'targetField');
    if (targetField !== undefined && targetField !== target.name) return undefined;
    const feature = attr(el, 'feature') ?? 'predictedValue';
    if (feature === 'predictedValue' && info.dataType === target.dataType) results.set(info.name, { kind: 'value' });
    else if (feature === 'probability' && classification && isNumeric(info.dataType) && attr(el, 'value') !== undefined) {
      const k = byCategory(catIndex, attr(el, 'value')!);
      if (k === undefined) return undefined;
      results.set(info.name, { kind: 'probability', index: k });
    } else return undefined;
  }
  // The predicted category as the general path gives it: parsed for the target, then cast to its data type.
  const categoryValues = categories.map((c) => castResult(target, toType(target.dataType, c) ?? c));
  return { results, categoryValues };
}
