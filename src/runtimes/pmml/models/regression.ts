/**
 * RegressionModel: one RegressionTable per target category (classification) or one table
 * (regression): intercept + Σ coefficient·x^exponent + categorical and interaction terms,
 * then the normalization method.
 */
import type { CompileContext, KernelCompiler, ModelKernel, Prediction, Row, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { classProbabilities, inverseLink, regressionLink as linkOf } from './regression-run.js';
import { layoutForm } from './regression-layout.js';
import { explainedLink, linearKernel } from './regression-linear.js';
import { table } from './regression-table.js';

export { inverseLink };

export const regressionModel: KernelCompiler = (el, ctx) => {
  const functionName = attr(el, 'functionName') ?? '';
  const method = attr(el, 'normalizationMethod') ?? 'none';
  const tables = children(el, 'RegressionTable');
  if (tables.length === 0) ctx.invalid(el, 'RegressionModel has no RegressionTable');
  const compile = Object.hasOwn(FUNCTION_KERNELS, functionName) ? FUNCTION_KERNELS[functionName] : undefined;
  return compile ? compile(el, ctx, method, tables) : ctx.unsupported(el, `functionName="${functionName}" is not supported for RegressionModel`);
};

/** The kernels by functionName, one entry a line: an exported package keeps the functions its document's RegressionModels name (src/edge/narrowing.ts). */
const FUNCTION_KERNELS: Readonly<Record<string, (el: XmlElement, ctx: CompileContext, method: string, tables: readonly XmlElement[]) => ModelKernel>> = {
  regression: regression,
  classification: classification,
};

/** Regression: the first table's value through the normalization's inverse link. */
function regression(el: XmlElement, ctx: CompileContext, method: string, tables: readonly XmlElement[]): ModelKernel {
  const link = linkOf(method) ?? ctx.unsupported(el, `normalizationMethod="${method}" is not supported for regression`);
  const linear = linearKernel([tables[0]!], explainedLink(method), ctx);
  const form = layoutForm([tables[0]!], method, [], false, ctx);
  if (form) {
    const y = new Float64Array(1);
    return {
      ...(linear ? { linear } : {}),
      batch: form.batch,
      evaluate: (row): Prediction => ({ value: form.margins(row, y) ? link(y[0]!) : null }),
    };
  }
  const t = table(tables[0]!, ctx);
  return {
    ...(linear ? { linear } : {}),
    evaluate(row): Prediction {
      const y = t(row);
      return { value: y === null ? null : link(y) };
    },
  };
}

/** Classification: one table per category, the margins normalized into probabilities. */
function classification(el: XmlElement, ctx: CompileContext, method: string, tables: readonly XmlElement[]): ModelKernel {
  const categories = tables.map((t) => attr(t, 'targetCategory') ?? ctx.invalid(t, 'attribute "targetCategory" is required for classification'));
  const target = ctx.target;
  const values: Value[] = categories.map((c) => (target ? ctx.parse(target.name, c) : c));
  const k = tables.length;
  const link = inverseLink(method);
  if (method !== 'softmax' && method !== 'simplemax' && !link) ctx.unsupported(el, `normalizationMethod="${method}" is not supported for classification`);
  const ordinal = target?.opType === 'ordinal';
  // Softmax: one margin per category. Two categories under logit: p(first) = sigmoid(its margin), the second table unread.
  const linear = method === 'softmax' ? linearKernel(tables, { kind: 'softmax' }, ctx)
    : k === 2 && method === 'logit' && !ordinal ? linearKernel([tables[0]!], { kind: 'sigmoid', scale: 1 }, ctx)
      : undefined;
  const form = layoutForm(tables, method, categories, ordinal, ctx);
  // Tables with predictors other than numeric ones: each compiled to a closure.
  const compiled = form ? [] : tables.map((t) => table(t, ctx));
  const margins: ((row: Row, y: Float64Array) => boolean) = form
    ? form.margins
    : (row: Row, y: Float64Array): boolean => {
      for (let i = 0; i < k; i++) {
        const v = compiled[i]!(row);
        if (v === null) return false;
        y[i] = v;
      }
      return true;
    };
  return {
    ...(linear ? { linear } : {}),
    ...(form ? { batch: form.batch } : {}),
    evaluate(row): Prediction {
      const y = new Float64Array(k);
      if (!margins(row, y)) return { value: null };
      const p = new Float64Array(k);
      const best = classProbabilities(method, ordinal, link, y, k, p);
      const probabilities = new Map<string, number>();
      for (let i = 0; i < k; i++) probabilities.set(categories[i]!, p[i]!);
      return { value: values[best] ?? null, probabilities };
    },
  };
}
