/**
 * A RegressionModel whose tables hold only NumericPredictors, as arrays (regression-run.ts): its rows
 * are scored with the batch kernel's arithmetic, one row at a time, so both paths give the same
 * numbers. An exported package whose RegressionModels all have a CategoricalPredictor or a
 * PredictorTerm has no such table and carries a stand-in that finds none (src/edge/narrowing.ts).
 */
import type { BatchKernel, CompileContext, Row } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { parseNumber } from '../values.js';
import { numberOf } from './regression-attributes.js';
import { regressionRun } from './regression-batch.js';
import { tableMargin, type RegressionLayout } from './regression-run.js';

/** The batch kernel of numeric tables, and their margins for one row. */
export interface LayoutForm {
  readonly batch: BatchKernel;
  /** Each table's margin for the row into `y`; false when a predictor's field is missing. */
  readonly margins: (row: Row, y: Float64Array) => boolean;
}

/** Tables of NumericPredictors only (no CategoricalPredictor or PredictorTerm) as a batch kernel and row margins; else undefined. */
export function layoutForm(tables: readonly XmlElement[], method: string, categories: readonly string[], ordinal: boolean, ctx: CompileContext): LayoutForm | undefined {
  const layout = numericLayout(tables, method, categories, ordinal, ctx);
  if (!layout) return undefined;
  const x = new Float64Array(layout.fields.length);
  const k = tables.length;
  return {
    batch: { fields: layout.fields, categories, run: regressionRun(layout), regression: () => layout },
    margins: (row, y) => {
      if (!readRow(row, layout.fields, x)) return false;
      for (let i = 0; i < k; i++) y[i] = tableMargin(layout, i, x, 0);
      return true;
    },
  };
}

/** Tables of NumericPredictors only (no CategoricalPredictor or PredictorTerm) as arrays; else undefined. */
function numericLayout(tables: readonly XmlElement[], method: string, categories: readonly string[], ordinal: boolean, ctx: CompileContext): RegressionLayout | undefined {
  if (tables.some((t) => children(t, 'CategoricalPredictor').length > 0 || children(t, 'PredictorTerm').length > 0)) return undefined;
  const predictors = tables.map((t) => children(t, 'NumericPredictor').map((p) => ({
    name: attr(p, 'name') ?? ctx.invalid(p, 'attribute "name" is required'),
    exponent: numberOf(p, 'exponent', ctx, 1),
    coefficient: numberOf(p, 'coefficient', ctx),
  })));
  const fields = [...new Set(predictors.flat().map((p) => p.name))];
  const all = predictors.flat();
  const start = new Int32Array(tables.length + 1);
  predictors.forEach((ps, t) => { start[t + 1] = start[t]! + ps.length; });
  return {
    method, classification: categories.length > 0, ordinal, fields, categories,
    intercept: Float64Array.from(tables, (t) => numberOf(t, 'intercept', ctx)),
    start, slot: Int32Array.from(all, (p) => fields.indexOf(p.name)),
    coefficient: Float64Array.from(all, (p) => p.coefficient), exponent: Float64Array.from(all, (p) => p.exponent),
  };
}

/** A row's values of the layout's fields into `x` (numbers as they are, other values parsed); false when one is missing. */
function readRow(row: Row, fields: readonly string[], x: Float64Array): boolean {
  for (let j = 0; j < fields.length; j++) {
    const v = row.get(fields[j]!);
    if (v === null) return false;
    x[j] = typeof v === 'number' ? v : parseNumber(String(v));
  }
  return true;
}

