/**
 * A RegressionTable of any predictors (NumericPredictor, CategoricalPredictor, PredictorTerm) as a
 * closure over the row. Tables of NumericPredictors only score from their layout instead
 * (regression-layout.ts): an exported package whose RegressionModels all have such tables carries a
 * stand-in (src/edge/narrowing.ts).
 */
import type { CompileContext, Row } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { parseNumber, valuesEqual } from '../values.js';
import { numberOf } from './regression-attributes.js';

type Table = (row: Row) => number | null;

/** A RegressionTable as a closure: its value for a row, or null when a predictor's field is missing. */
export function table(el: XmlElement, ctx: CompileContext): Table {
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
