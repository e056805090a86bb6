/**
 * Steps that route columns: ColumnTransformer (named or indexed columns, each group through its
 * own transformer or Pipeline, remainder drop / passthrough / a transformer), FeatureUnion (every
 * transformer on all columns, outputs side by side) and the categorical encoders that only make
 * sense per column (OneHotEncoder, OrdinalEncoder, SimpleImputer on text). All become one
 * document step `columns`: branches, each a column selection and a list of per-column steps,
 * concatenated in scikit-learn's output order. Text columns are found here, from the encoders'
 * and imputers' fitted categories and statistics: they decide the model's input types.
 */
import { Estimator, labelsOf } from '../attrs.js';
import type { DocValue } from '../document.js';
import { itemsOf, kindOf, NdArray, PyObject, type PyValue } from '../pickle/values.js';
import { TRANSFORMERS, transformStep } from './preprocess.js';

export const ROUTERS = new Set(['ColumnTransformer', 'FeatureUnion']);
export const ENCODERS = new Set(['OneHotEncoder', 'OrdinalEncoder']);

/** A column's type as the model's input: text columns feed an encoder or imputer fitted on text. */
export type ColumnType = 'number' | 'string';

interface Branch {
  select: number[];
  steps: Record<string, DocValue>[];
  width: number;
  nullable: boolean;
}

export interface ColumnsStep {
  readonly step: Record<string, DocValue>;
  readonly width: number;
  /** Per input column: its type (text when an encoder or imputer was fitted on text). */
  readonly types: ColumnType[];
  /** Whether missing values are accepted (every column that can be missing is imputed or encoded). */
  readonly nullable: boolean;
}

/** A ColumnTransformer, FeatureUnion, or a bare encoder/text imputer over all `width` columns. */
export function columnsStep(est: Estimator, width: number, names: readonly string[] | null): ColumnsStep {
  const types: ColumnType[] = new Array<ColumnType>(width).fill('number');
  const branches: Branch[] = [];
  const add = (select: number[], trans: PyValue | undefined, at: string): void => {
    if (select.length === 0 || trans === 'drop') return;
    if (trans === 'passthrough') {
      branches.push({ select, steps: [], width: select.length, nullable: false });
      return;
    }
    if (!(trans instanceof PyObject)) est.fail(`${at} is ${kindOf(trans ?? null)}, not a transformer`);
    branches.push(branch(new Estimator(trans, at), select, types));
  };
  if (est.name === 'ColumnTransformer') {
    const fitted = itemsOf(est.raw('transformers_') ?? null);
    if (!fitted) est.fail('transformers_ is missing (is the ColumnTransformer fitted?)');
    for (const [i, t] of fitted.entries()) {
      const [name, trans, cols] = itemsOf(t) ?? [];
      if (typeof name !== 'string') est.fail(`transformers_[${i}] has no name`);
      add(columnIndices(est, cols, width, names, name), trans, `${est.step}/${name}`);
    }
  } else if (est.name === 'FeatureUnion') {
    const list = itemsOf(est.raw('transformer_list') ?? null);
    if (!list) est.fail('transformer_list is missing');
    const weights = est.raw('transformer_weights');
    if (weights !== null && weights !== undefined) est.unsupported('FeatureUnion with transformer_weights is not supported');
    const all = Array.from({ length: width }, (_, j) => j);
    for (const [i, t] of list.entries()) {
      const [name, trans] = itemsOf(t) ?? [];
      if (typeof name !== 'string') est.fail(`transformer_list[${i}] has no name`);
      add(all, trans, `${est.step}/${name}`);
    }
  } else {
    add(Array.from({ length: width }, (_, j) => j), est.obj, est.step);
  }
  const out = branches.reduce((n, b) => n + b.width, 0);
  const nullable = branches.length > 0 && branches.every((b) => b.nullable || b.steps.length === 0);
  return {
    step: { op: 'columns', inputs: width, width: out, branches: branches.map((b) => ({ select: Int32Array.from(b.select), steps: b.steps, width: b.width })) },
    width: out,
    types,
    nullable,
  };
}

/** The input columns a ColumnTransformer entry names: names, indices, a slice, a boolean mask, or one name. */
function columnIndices(est: Estimator, cols: PyValue | undefined, width: number, names: readonly string[] | null, at: string): number[] {
  const byName = (n: string): number => {
    const j = names?.indexOf(n) ?? -1;
    if (j < 0) est.fail(`${at}: column "${n}" is not among the fitted columns`);
    return j;
  };
  const check = (j: number): number => {
    const k = j < 0 ? j + width : j;
    if (!Number.isInteger(k) || k < 0 || k >= width) est.fail(`${at}: column index ${j} is outside 0..${width - 1}`);
    return k;
  };
  if (typeof cols === 'string') return [byName(cols)];
  if (typeof cols === 'number') return [check(cols)];
  if (cols instanceof PyObject && cols.cls.qualname === 'builtins.slice') {
    const [start, stop, step] = cols.args.map((v) => (typeof v === 'number' ? v : null));
    if (typeof cols.args[0] === 'string' || typeof cols.args[1] === 'string') est.unsupported(`${at}: a slice of column names is not supported`);
    const out: number[] = [];
    for (let j = start ?? 0; j < Math.min(stop ?? width, width); j += step ?? 1) out.push(check(j));
    return out;
  }
  const list = cols instanceof NdArray ? (Array.isArray(cols.data) ? cols.data : Array.from(cols.data as ArrayLike<number | bigint>, Number)) : itemsOf(cols ?? null);
  if (!list) return est.unsupported(`${at}: columns given as ${kindOf(cols ?? null)} are not supported (a callable selector would be code)`);
  if (list.length > 0 && list.every((v) => typeof v === 'boolean')) return list.flatMap((v, j) => (v ? [check(j)] : []));
  return list.map((v) => (typeof v === 'string' ? byName(v) : typeof v === 'number' || typeof v === 'bigint' ? check(Number(v)) : est.fail(`${at}: column ${kindOf(v)} is neither a name nor an index`)));
}

/** One branch: a transformer or a Pipeline of transformers over the selected columns. */
function branch(est: Estimator, select: number[], types: ColumnType[]): Branch {
  const chain = est.name === 'Pipeline' ? pipelineOf(est) : [est];
  const steps: Record<string, DocValue>[] = [];
  let width = select.length;
  let text = false;
  let nullable = false;
  chain.forEach((e, i) => {
    if (ROUTERS.has(e.name)) e.unsupported(`a ${e.name} inside a ColumnTransformer or FeatureUnion is not supported`);
    if (e.name === 'OneHotEncoder' || e.name === 'OrdinalEncoder') {
      const enc = encoderStep(e, width);
      if (i === 0 && enc.text) for (const j of select) types[j] = 'string';
      if (i === 0) nullable = true;
      steps.push({ ...enc.step, name: e.step });
      width = enc.width;
      text = false;
      return;
    }
    if (e.name === 'SimpleImputer' && textStatistics(e)) {
      if (i !== 0) e.unsupported('a SimpleImputer on text after another step is not supported');
      for (const j of select) types[j] = 'string';
      steps.push({ ...textImputer(e, width), name: e.step });
      text = true;
      nullable = true;
      return;
    }
    if (text) e.unsupported(`${e.name} after a text imputer must be an encoder`);
    if (!TRANSFORMERS.has(e.name)) e.unsupported(`${e.name} is not a supported transformer`);
    const t = transformStep(e, width);
    if (t.step) steps.push({ ...t.step, name: e.step });
    if (i === 0 && t.nullable) nullable = true;
    width = t.width;
  });
  if (text) est.unsupported('a text column must end in an encoder before it reaches a numeric step');
  return { select, steps, width, nullable };
}

function pipelineOf(pipe: Estimator): Estimator[] {
  const steps = itemsOf(pipe.raw('steps') ?? null) ?? pipe.fail('steps is not a list');
  return steps.flatMap((s, i) => {
    const [name, est] = itemsOf(s) ?? [];
    if (est === 'passthrough' || est === null) return [];
    if (typeof name !== 'string' || !(est instanceof PyObject)) return pipe.fail(`step ${i} is not (name, estimator)`);
    return [new Estimator(est, `${pipe.step}/${name}`)];
  });
}

function textStatistics(e: Estimator): boolean {
  const s = e.optArray('statistics_');
  return s !== null && s.dtype.kind === 'O' && Array.isArray(s.data) && s.data.some((v) => typeof v === 'string');
}

function textImputer(e: Estimator, width: number): Record<string, DocValue> {
  if (e.bool('add_indicator', false)) e.unsupported('SimpleImputer(add_indicator=True) is not supported');
  const stats = e.array('statistics_');
  const values = Array.isArray(stats.data) ? stats.data : [];
  if (values.length !== width) e.fail(`statistics_ has ${values.length} values for ${width} columns`);
  const mv = e.raw('missing_values');
  if (!(mv === null || mv === undefined || (typeof mv === 'number' && Number.isNaN(mv)))) e.unsupported('a text SimpleImputer is supported with missing_values=np.nan or None only');
  return { op: 'impute-text', statistics: values.map((v) => (typeof v === 'string' ? v : e.fail(`statistics_ holds ${kindOf(v)}, not text`))) };
}

/** Categories of one column: text (object arrays) or numbers; `missing` is where NaN/None sits (−1: none). */
function categoriesOf(e: Estimator, a: PyValue, i: number): { values: DocValue; text: boolean; missing: number; count: number } {
  if (!(a instanceof NdArray)) return e.fail(`categories_[${i}] is ${kindOf(a)}`);
  if (Array.isArray(a.data)) {
    const vals = a.data;
    const missing = vals.findIndex((v) => v === null || (typeof v === 'number' && Number.isNaN(v)));
    const known = vals.filter((_, j) => j !== missing);
    if (known.every((v) => typeof v === 'string')) return { values: known, text: true, missing, count: vals.length };
    if (known.every((v) => typeof v === 'number')) return { values: Float64Array.from(known), text: false, missing, count: vals.length };
    return e.unsupported(`categories_[${i}] mixes text and numbers`);
  }
  const nums = labelsOf(a).map(Number);
  const missing = nums.findIndex((v) => Number.isNaN(v));
  return { values: Float64Array.from(nums.filter((_, j) => j !== missing)), text: false, missing, count: nums.length };
}

/** OneHotEncoder (drop, handle_unknown, infrequent categories) or OrdinalEncoder (unknown and missing values). */
function encoderStep(e: Estimator, width: number): { step: Record<string, DocValue>; width: number; text: boolean } {
  const cats = itemsOf(e.raw('categories_') ?? null) ?? e.fail('categories_ is missing (is the encoder fitted?)');
  if (cats.length !== width) e.fail(`categories_ has ${cats.length} columns, the step receives ${width}`);
  const cols = cats.map((c, i) => categoriesOf(e, c, i));
  const text = cols.some((c) => c.text);
  if (text && !cols.every((c) => c.text)) e.unsupported('an encoder over both text and numeric columns is not supported; encode them in separate ColumnTransformer entries');
  cols.forEach((c, i) => {
    if (c.missing >= 0 && c.missing !== c.count - 1) e.fail(`categories_[${i}] has its missing value at ${c.missing}, not last`);
  });
  if (e.name === 'OrdinalEncoder') {
    const unknown = e.optStr('handle_unknown') ?? 'error';
    const unknownValue = unknown === 'use_encoded_value' ? numberOr(e.raw('unknown_value'), Number.NaN) : Number.NaN;
    const missingValue = numberOr(e.raw('encoded_missing_value'), Number.NaN);
    return {
      step: { op: 'ordinal', categories: cols.map((c) => c.values), missing: Int32Array.from(cols.map((c) => c.missing)), unknown: unknown === 'use_encoded_value' ? 'value' : 'error', unknownValue, missingValue },
      width,
      text,
    };
  }
  const unknown = e.optStr('handle_unknown') ?? 'error';
  const infrequent = e.bool('_infrequent_enabled', false);
  const dropIdx = e.raw('drop_idx_');
  const drops = dropIdx instanceof NdArray ? (Array.isArray(dropIdx.data) ? dropIdx.data : Array.from(dropIdx.data as ArrayLike<number>)) : null;
  if (drops && infrequent) e.unsupported('OneHotEncoder with both drop and infrequent categories is not supported');
  const mappings = infrequent ? itemsOf(e.raw('_default_to_infrequent_mappings') ?? null) : null;
  const outs = itemsOf(e.raw('_n_features_outs') ?? null);
  const maps: Int32Array[] = [];
  const widths: number[] = [];
  const unknownTo: number[] = [];
  cols.forEach((c, i) => {
    const map = new Int32Array(c.count);
    const mapping = mappings?.[i];
    let outWidth: number;
    let infrequentAt = -1;
    if (mapping instanceof NdArray) {
      const m = labelsOf(mapping).map(Number);
      if (m.length !== c.count) e.fail(`_default_to_infrequent_mappings[${i}] has ${m.length} entries for ${c.count} categories`);
      m.forEach((o, j) => (map[j] = o));
      outWidth = Math.max(...m) + 1;
      infrequentAt = outWidth - 1;
    } else {
      for (let j = 0; j < c.count; j++) map[j] = j;
      outWidth = c.count;
    }
    const d = drops?.[i];
    if (typeof d === 'number' || typeof d === 'bigint') {
      const dj = Number(d);
      if (!Number.isInteger(dj) || dj < 0 || dj >= c.count) e.fail(`drop_idx_[${i}] = ${dj} is not a category index`);
      for (let j = 0; j < c.count; j++) map[j] = j === dj ? -1 : j > dj ? j - 1 : j;
      outWidth = c.count - 1;
    }
    const declared = outs?.[i];
    if (typeof declared === 'number' && declared !== outWidth) e.fail(`column ${i} gives ${outWidth} outputs, _n_features_outs says ${declared}`);
    maps.push(map);
    widths.push(outWidth);
    unknownTo.push(unknown === 'infrequent_if_exist' && infrequentAt >= 0 ? infrequentAt : -1);
  });
  if (unknown !== 'error' && unknown !== 'ignore' && unknown !== 'infrequent_if_exist') e.unsupported(`handle_unknown="${unknown}" is not supported`);
  return {
    step: {
      op: 'onehot', categories: cols.map((c) => c.values), missing: Int32Array.from(cols.map((c) => c.missing)), maps, widths: Int32Array.from(widths),
      unknown: unknown === 'error' ? 'error' : 'ignore', unknownTo: Int32Array.from(unknownTo),
    },
    width: widths.reduce((a, b) => a + b, 0),
    text,
  };
}

function numberOr(v: PyValue | undefined, fallback: number): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : fallback;
}
