/**
 * The `columns` step at scoring time: ColumnTransformer / FeatureUnion branches over a table of
 * input columns (numbers as float64 with NaN for missing, text as strings with null), each
 * branch's steps applied in scikit-learn's order, the branch outputs written side by side into
 * the row-major matrix the estimator takes. Encoders map a value to its category by exact match
 * (text) or numeric equality; a missing value is its own category when one was seen at fit.
 */
import { ferry } from '../../core/errors.js';
import { DocumentError, type DocValue } from './document.js';
import type { NumericStep, Step } from './compile.js';
import { show, stepWidth } from './numeric.js';

/** A column of the input table. */
export type Column = Float64Array | readonly (string | null)[];

type Categories = { readonly text: true; readonly index: Map<string, number> } | { readonly text: false; readonly index: Map<number, number> };

export type ColumnOp =
  | { readonly op: 'numeric'; readonly step: NumericStep }
  | { readonly op: 'impute-text'; readonly statistics: readonly string[] }
  | { readonly op: 'onehot'; readonly categories: readonly Categories[]; readonly missing: Int32Array; readonly maps: readonly Int32Array[]; readonly widths: Int32Array; readonly unknown: 'error' | 'ignore'; readonly unknownTo: Int32Array; readonly name: string }
  | { readonly op: 'ordinal'; readonly categories: readonly Categories[]; readonly missing: Int32Array; readonly unknown: 'error' | 'value'; readonly unknownValue: number; readonly missingValue: number; readonly name: string };

export interface ColumnsStep {
  readonly op: 'columns';
  readonly inputs: number;
  readonly width: number;
  readonly branches: readonly { readonly select: Int32Array; readonly ops: readonly ColumnOp[]; readonly width: number }[];
}

type Obj = Readonly<Record<string, DocValue>>;

function categories(v: DocValue | undefined, at: string): Categories {
  if (v instanceof Float64Array) return { text: false, index: new Map(Array.from(v, (c, j) => [c, j])) };
  if (Array.isArray(v) && (v as readonly DocValue[]).every((c) => typeof c === 'string')) return { text: true, index: new Map((v as readonly string[]).map((c, j) => [c, j])) };
  throw new DocumentError(`${at}: categories are neither numbers nor text`);
}

/**
 * Check a `columns` step: selections inside the input, each op's arrays shaped to its columns.
 * `numeric` compiles the ordinary numeric steps (the same checks as outside a branch).
 */
export function compileColumns(s: Obj, width: number, at: string, numeric: (s: Obj, width: number, at: string) => Step): ColumnsStep {
  if (s.inputs !== width) throw new DocumentError(`${at}: takes ${show(s.inputs)} columns, receives ${width}`);
  const branches = (Array.isArray(s.branches) ? (s.branches as readonly Obj[]) : []).map((b, i) => {
    const where = `${at}.branches[${i}]`;
    const select = b.select;
    if (!(select instanceof Int32Array) || select.some((j) => j < 0 || j >= width)) throw new DocumentError(`${where}.select names a column outside 0..${width - 1}`);
    let w = select.length;
    const ops = (Array.isArray(b.steps) ? (b.steps as readonly Obj[]) : []).map((o, k): ColumnOp => {
      const at2 = `${where}.steps[${k}]`;
      if (o.op === 'impute-text') {
        const stats = o.statistics;
        if (!Array.isArray(stats) || stats.length !== w || !stats.every((v) => typeof v === 'string')) throw new DocumentError(`${at2}: statistics are not ${w} strings`);
        return { op: 'impute-text', statistics: stats };
      }
      if (o.op === 'onehot' || o.op === 'ordinal') {
        const cats = Array.isArray(o.categories) ? (o.categories as readonly DocValue[]).map((c, j) => categories(c, `${at2}.categories[${j}]`)) : [];
        const missing = o.missing;
        if (cats.length !== w || !(missing instanceof Int32Array) || missing.length !== w) throw new DocumentError(`${at2}: categories for ${cats.length} columns, the step receives ${w}`);
        const name = typeof o.name === 'string' ? o.name : 'encoder';
        if (o.op === 'ordinal') {
          return { op: 'ordinal', categories: cats, missing, unknown: o.unknown === 'value' ? 'value' : 'error', unknownValue: typeof o.unknownValue === 'number' ? o.unknownValue : Number.NaN, missingValue: typeof o.missingValue === 'number' ? o.missingValue : Number.NaN, name };
        }
        const widths = o.widths;
        const unknownTo = o.unknownTo;
        const maps = Array.isArray(o.maps) ? (o.maps as readonly DocValue[]) : [];
        if (!(widths instanceof Int32Array) || widths.length !== w || !(unknownTo instanceof Int32Array) || unknownTo.length !== w || maps.length !== w) throw new DocumentError(`${at2}: one-hot layout does not fit ${w} columns`);
        const checked = maps.map((m, j) => {
          const count = cats[j]!.index.size + (missing[j]! >= 0 ? 1 : 0);
          if (!(m instanceof Int32Array) || m.length !== count || m.some((x) => x < -1 || x >= widths[j]!) || unknownTo[j]! >= widths[j]!) throw new DocumentError(`${at2}.maps[${j}] does not fit its categories`);
          return m;
        });
        const out = { op: 'onehot' as const, categories: cats, missing, maps: checked, widths, unknown: o.unknown === 'error' ? 'error' as const : 'ignore' as const, unknownTo, name };
        w = widths.reduce((a, b) => a + b, 0);
        return out;
      }
      const step = numeric(o, w, at2);
      if (step.op === 'columns') throw new DocumentError(`${at2}: a columns step inside a branch`);
      w = stepWidth(step, w);
      return { op: 'numeric', step };
    });
    if (w !== b.width) throw new DocumentError(`${where}: gives ${w} columns, declares ${show(b.width)}`);
    return { select, ops, width: w };
  });
  const total = branches.reduce((n, b) => n + b.width, 0);
  if (total !== s.width) throw new DocumentError(`${at}: branches give ${total} columns, the step declares ${show(s.width)}`);
  return { op: 'columns', inputs: width, width: total, branches };
}

/** The input table of a row-major matrix (numeric models that route columns). */
export function tableOf(x: Float64Array, rows: number, width: number): Column[] {
  return Array.from({ length: width }, (_, j) => {
    const c = new Float64Array(rows);
    for (let r = 0; r < rows; r++) c[r] = x[r * width + j]!;
    return c;
  });
}

/**
 * Apply the step: every branch over its columns, outputs side by side (row-major, `width` wide).
 * `numeric` applies an ordinary step to a row-major matrix (the code used outside branches).
 */
export function applyColumns(s: ColumnsStep, table: readonly Column[], rows: number, numeric: (step: NumericStep, x: Float64Array, rows: number, width: number) => { x: Float64Array; width: number }, names?: readonly string[]): Float64Array {
  const out = new Float64Array(rows * s.width);
  let offset = 0;
  for (const b of s.branches) {
    let cols: Column[] = Array.from(b.select, (j) => table[j]!);
    // Each column's input name while the columns are still the selected ones (an error names it).
    let named: readonly (string | undefined)[] = Array.from(b.select, (j) => names?.[j]);
    for (const op of b.ops) {
      if (op.op === 'numeric') {
        const m = numeric(op.step, matrixOf(cols, rows, 'a numeric step'), rows, cols.length);
        cols = tableOf(m.x, rows, m.width);
        named = [];
      } else if (op.op === 'impute-text') {
        cols = cols.map((c, j) => Array.from({ length: rows }, (_, r) => {
          const v = valueAt(c, r);
          return v === null ? op.statistics[j]! : String(v);
        }));
      } else if (op.op === 'onehot') {
        cols = oneHot(op, cols, rows, named);
        named = [];
      } else {
        cols = ordinal(op, cols, rows, named);
        named = [];
      }
    }
    for (const [j, c] of cols.entries()) {
      if (!(c instanceof Float64Array)) throw ferry('FERRY_E_VALUE_TYPE', { row: 0, column: `output ${offset + j}`, expected: 'a number after the column steps', actual: 'text' });
      for (let r = 0; r < rows; r++) out[r * s.width + offset + j] = c[r]!;
    }
    offset += cols.length;
  }
  return out;
}

function matrixOf(cols: readonly Column[], rows: number, what: string): Float64Array {
  const w = cols.length;
  const x = new Float64Array(rows * w);
  cols.forEach((c, j) => {
    if (!(c instanceof Float64Array)) throw ferry('FERRY_E_VALUE_TYPE', { row: 0, column: `column ${j}`, expected: `numbers for ${what}`, actual: 'text' });
    for (let r = 0; r < rows; r++) x[r * w + j] = c[r]!;
  });
  return x;
}

/** A cell as text or number; null when missing (NaN, null, or an empty text cell). */
function valueAt(c: Column, r: number): string | number | null {
  const v = c[r];
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number' && Number.isNaN(v)) return null;
  return v;
}

/** The category index of a cell: its index, the missing category, or −1 (unknown). */
function categoryOf(cats: Categories, missing: number, v: string | number | null): number {
  if (v === null) return missing;
  if (cats.text) return cats.index.get(String(v)) ?? -1;
  const n = typeof v === 'number' ? v : Number(v);
  return cats.index.get(n) ?? -1;
}

function unknownError(name: string, r: number, j: number, v: string | number | null, cats: Categories, column: string | undefined): never {
  const known = [...cats.index.keys()].slice(0, 10).map((k) => JSON.stringify(k)).join(', ');
  throw ferry('FERRY_E_VALUE_TYPE', { row: r + 1, column: column ?? `${name} column ${j}`, expected: `one of the categories seen in training (${known}${cats.index.size > 10 ? ', …' : ''})`, actual: v === null ? 'a missing value' : JSON.stringify(v) });
}

function oneHot(op: Extract<ColumnOp, { op: 'onehot' }>, cols: readonly Column[], rows: number, named: readonly (string | undefined)[]): Column[] {
  const out: Column[] = [];
  cols.forEach((c, j) => {
    const block = Array.from({ length: op.widths[j]! }, () => new Float64Array(rows));
    const map = op.maps[j]!;
    for (let r = 0; r < rows; r++) {
      const v = valueAt(c, r);
      const k = categoryOf(op.categories[j]!, op.missing[j]!, v);
      let at: number;
      if (k >= 0) at = map[k]!;
      else if (op.unknown === 'error') unknownError(op.name, r, j, v, op.categories[j]!, named[j]);
      else at = op.unknownTo[j]!;
      if (at >= 0) block[at]![r] = 1;
    }
    out.push(...block);
  });
  return out;
}

function ordinal(op: Extract<ColumnOp, { op: 'ordinal' }>, cols: readonly Column[], rows: number, named: readonly (string | undefined)[]): Column[] {
  return cols.map((c, j) => {
    const o = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const v = valueAt(c, r);
      const k = categoryOf(op.categories[j]!, op.missing[j]!, v);
      if (k >= 0) o[r] = k === op.missing[j] ? op.missingValue : k;
      else if (op.unknown === 'value') o[r] = op.unknownValue;
      else unknownError(op.name, r, j, v, op.categories[j]!, named[j]);
    }
    return o;
  });
}
