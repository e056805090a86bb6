/**
 * A RegressionModel's tables as a `LinearKernel` (what explanations and the SQL export read), when
 * they are linear in their fields. Scoring never reads it: an exported package carries a stand-in
 * that finds none (src/edge/narrowing.ts).
 */
import type { Link } from '../../model-structure.js';
import type { CompileContext, LinearKernel, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { numberOf } from './regression-attributes.js';

/** A table of NumericPredictors of exponent 1 only, as intercept and coefficient per field; else undefined. */
function linearTable(el: XmlElement, ctx: CompileContext): { intercept: number; coefficients: Map<string, number> } | undefined {
  if (children(el, 'PredictorTerm').length > 0) return undefined;
  const coefficients = new Map<string, number>();
  for (const p of children(el, 'NumericPredictor')) {
    if (numberOf(p, 'exponent', ctx, 1) !== 1) return undefined;
    const name = attr(p, 'name') ?? ctx.invalid(p, 'attribute "name" is required');
    coefficients.set(name, (coefficients.get(name) ?? 0) + numberOf(p, 'coefficient', ctx));
  }
  return { intercept: numberOf(el, 'intercept', ctx), coefficients };
}

/** Tables that are linear in their fields, as one LinearKernel with an output per table; else (or without a link) undefined. */
export function linearKernel(tables: readonly XmlElement[], link: Link | undefined, ctx: CompileContext): LinearKernel | undefined {
  if (!link) return undefined;
  const linear = tables.map((t) => linearTable(t, ctx));
  if (linear.some((t) => t === undefined)) return undefined;
  // Categorical predictors: one indicator per level, additive per field (one output only).
  const categoricalEls = tables.flatMap((t) => children(t, 'CategoricalPredictor'));
  let categorical: LinearKernel['categorical'];
  if (categoricalEls.length > 0) {
    if (tables.length !== 1) return undefined;
    const byField = new Map<string, { value: Value; coefficient: number }[]>();
    for (const p of categoricalEls) {
      const field = attr(p, 'name') ?? ctx.invalid(p, 'attribute "name" is required');
      let levels = byField.get(field);
      if (!levels) byField.set(field, (levels = []));
      levels.push({ value: ctx.parse(field, attr(p, 'value') ?? ctx.invalid(p, 'attribute "value" is required')), coefficient: numberOf(p, 'coefficient', ctx) });
    }
    if ([...byField.keys()].some((f) => linear[0]!.coefficients.has(f))) return undefined;
    categorical = [...byField].map(([field, levels]) => ({ field, levels }));
  }
  const groups = linear.length;
  const fields = [...new Set(linear.flatMap((t) => [...t!.coefficients.keys()]))];
  const weights = new Float64Array(fields.length * groups);
  fields.forEach((f, j) => linear.forEach((t, g) => { weights[j * groups + g] = t!.coefficients.get(f) ?? 0; }));
  return { fields, groups, weights, bias: Float64Array.from(linear, (t) => t!.intercept), link, ...(categorical ? { categorical } : {}) };
}

/** The link a regression's normalization method is, in explanations' terms (undefined: none of theirs). */
export function explainedLink(method: string): Link | undefined {
  if (method === 'none') return { kind: 'identity' };
  if (method === 'logit' || method === 'softmax') return { kind: 'sigmoid', scale: 1 };
  if (method === 'exp') return { kind: 'exp' };
  return undefined;
}
