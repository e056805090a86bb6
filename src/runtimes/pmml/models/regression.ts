/**
 * RegressionModel: one RegressionTable per target category (classification) or one table
 * (regression): intercept + Σ coefficient·x^exponent + categorical and interaction terms,
 * then the normalization method.
 */
import type { Link } from '../../model-structure.js';
import { normalCdf } from '../functions.js';
import type { CompileContext, KernelCompiler, LinearKernel, Prediction, Row, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { parseNumber, valuesEqual } from '../values.js';

type Table = (row: Row) => number | null;

function numberOf(el: XmlElement, name: string, ctx: CompileContext, fallback?: number): number {
  const t = attr(el, name);
  if (t === undefined) {
    if (fallback === undefined) ctx.invalid(el, `attribute "${name}" is required`);
    return fallback;
  }
  const n = parseNumber(t);
  if (Number.isNaN(n)) ctx.invalid(el, `attribute ${name}="${t}" is not a number`);
  return n;
}

function table(el: XmlElement, ctx: CompileContext): Table {
  const intercept = numberOf(el, 'intercept', ctx);
  const numeric = children(el, 'NumericPredictor').map((p) => ({
    name: attr(p, 'name') ?? ctx.invalid(p, 'attribute "name" is required'),
    exponent: numberOf(p, 'exponent', ctx, 1),
    coefficient: numberOf(p, 'coefficient', ctx),
  }));
  const categorical = children(el, 'CategoricalPredictor').map((p) => {
    const name = attr(p, 'name') ?? ctx.invalid(p, 'attribute "name" is required');
    return { name, value: ctx.parse(name, attr(p, 'value') ?? ctx.invalid(p, 'attribute "value" is required')), coefficient: numberOf(p, 'coefficient', ctx) };
  });
  const terms = children(el, 'PredictorTerm').map((t) => ({
    fields: children(t, 'FieldRef').map((f) => ctx.expression(f)),
    coefficient: numberOf(t, 'coefficient', ctx),
  }));
  const names = numeric.map((p) => p.name);
  const exps = Float64Array.from(numeric.map((p) => p.exponent));
  const coefs = Float64Array.from(numeric.map((p) => p.coefficient));
  // Categorical predictors grouped by field: a missing field makes the result missing.
  const catFields = [...new Set(categorical.map((c) => c.name))].map((name) => ({ name, options: categorical.filter((c) => c.name === name) }));
  return (row) => {
    let y = intercept;
    for (let i = 0; i < names.length; i++) {
      const v = row.get(names[i]!);
      if (v === null) return null;
      const x = typeof v === 'number' ? v : parseNumber(String(v));
      const e = exps[i]!;
      y += coefs[i]! * (e === 1 ? x : Math.pow(x, e));
    }
    for (const f of catFields) {
      const v = row.get(f.name);
      if (v === null) return null;
      for (const o of f.options) if (valuesEqual(v, o.value)) { y += o.coefficient; break; }
    }
    for (const t of terms) {
      let prod = t.coefficient;
      for (const f of t.fields) {
        const v = f(row);
        if (v === null) return null;
        prod *= typeof v === 'number' ? v : parseNumber(String(v));
      }
      y += prod;
    }
    return y;
  };
}

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

/** Tables that are linear in their fields, as one LinearKernel with an output per table; else undefined. */
function linearKernel(tables: readonly XmlElement[], link: Link, ctx: CompileContext): LinearKernel | undefined {
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

/** The link a normalization method is, in explanations' terms (undefined: none of theirs). */
function regressionLink(method: string): Link | undefined {
  if (method === 'none') return { kind: 'identity' };
  if (method === 'logit' || method === 'softmax') return { kind: 'sigmoid', scale: 1 };
  if (method === 'exp') return { kind: 'exp' };
  return undefined;
}

/** The inverse link of a normalization method applied to one value. */
export function inverseLink(method: string): ((y: number) => number) | undefined {
  switch (method) {
    case 'none': return (y) => y;
    case 'logit': return (y) => 1 / (1 + Math.exp(-y));
    case 'probit': return normalCdf;
    case 'cloglog': return (y) => 1 - Math.exp(-Math.exp(y));
    case 'loglog': return (y) => Math.exp(-Math.exp(-y));
    case 'cauchit': return (y) => 0.5 + Math.atan(y) / Math.PI;
    case 'exp': return Math.exp;
    default: return undefined;
  }
}

export const regressionModel: KernelCompiler = (el, ctx) => {
  const functionName = attr(el, 'functionName');
  const method = attr(el, 'normalizationMethod') ?? 'none';
  const tables = children(el, 'RegressionTable');
  if (tables.length === 0) ctx.invalid(el, 'RegressionModel has no RegressionTable');
  if (functionName === 'regression') {
    const t = table(tables[0]!, ctx);
    const link = (method === 'softmax' ? (y: number) => 1 / (1 + Math.exp(-y)) : inverseLink(method))
      ?? ctx.unsupported(el, `normalizationMethod="${method}" is not supported for regression`);
    const explained = regressionLink(method);
    const linear = explained ? linearKernel([tables[0]!], explained, ctx) : undefined;
    return {
      ...(linear ? { linear } : {}),
      evaluate(row): Prediction {
        const y = t(row);
        return { value: y === null ? null : link(y) };
      },
    };
  }
  if (functionName !== 'classification') ctx.unsupported(el, `functionName="${functionName ?? ''}" is not supported for RegressionModel`);
  const categories = tables.map((t) => attr(t, 'targetCategory') ?? ctx.invalid(t, 'attribute "targetCategory" is required for classification'));
  const compiled = tables.map((t) => table(t, ctx));
  const target = ctx.target;
  const values: Value[] = categories.map((c) => (target ? ctx.parse(target.name, c) : c));
  const k = compiled.length;
  const link = inverseLink(method);
  if (method !== 'softmax' && method !== 'simplemax' && !link) ctx.unsupported(el, `normalizationMethod="${method}" is not supported for classification`);
  const ordinal = target?.opType === 'ordinal';
  // Softmax: one margin per category. Two categories under logit: p(first) = sigmoid(its margin), the second table unread.
  const linear = method === 'softmax' ? linearKernel(tables, { kind: 'softmax' }, ctx)
    : k === 2 && method === 'logit' && !ordinal ? linearKernel([tables[0]!], { kind: 'sigmoid', scale: 1 }, ctx)
      : undefined;
  return {
    ...(linear ? { linear } : {}),
    evaluate(row): Prediction {
      const y = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        const v = compiled[i]!(row);
        if (v === null) return { value: null };
        y[i] = v;
      }
      const p = new Float64Array(k);
      if (method === 'softmax') {
        let max = -Infinity;
        for (let i = 0; i < k; i++) max = Math.max(max, y[i]!);
        let sum = 0;
        for (let i = 0; i < k; i++) { p[i] = Math.exp(y[i]! - max); sum += p[i]!; }
        for (let i = 0; i < k; i++) p[i] = p[i]! / sum;
      } else if (method === 'simplemax') {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += y[i]!;
        for (let i = 0; i < k; i++) p[i] = y[i]! / sum;
      } else if (ordinal && k > 2) {
        // Cumulative probabilities: P(Y <= c_i) = link(y_i); the last category takes the rest.
        let prev = 0;
        for (let i = 0; i < k - 1; i++) { const c = link!(y[i]!); p[i] = c - prev; prev = c; }
        p[k - 1] = 1 - prev;
      } else if (k === 2) {
        p[0] = link!(y[0]!);
        p[1] = 1 - link!(y[0]!);
      } else {
        let sum = 0;
        for (let i = 0; i < k - 1; i++) { p[i] = link!(y[i]!); sum += p[i]!; }
        p[k - 1] = method === 'none' ? 1 - sum : link!(y[k - 1]!);
      }
      let best = 0;
      for (let i = 1; i < k; i++) if (p[i]! > p[best]!) best = i;
      const probabilities = new Map<string, number>();
      for (let i = 0; i < k; i++) probabilities.set(categories[i]!, p[i]!);
      return { value: values[best] ?? null, probabilities };
    },
  };
};
