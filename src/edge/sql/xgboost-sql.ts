/**
 * XGBoost in SQL with xgboost's own arithmetic: inputs cast to REAL (float32), `x < threshold`
 * between float32 values, a missing value (NULL) following the node's default direction,
 * margins summed tree by tree in REAL (each addition rounded to float32, as the C++ does),
 * then the objective's transform. gblinear: bias + Σ x·w in REAL, skipping missing values.
 */
import type { TensorSpec } from '../../core/signature.js';
import type { CompiledModel, Forest, Linear } from '../../runtimes/xgboost/xgboost-model.js';
import { scoreColumns } from './score-columns.js';
import { call, cast, col, isNull, neg, num, op, sum, when, type Expr, type Step } from './sql-ast.js';

const f32 = Math.fround;
const x = (j: number): Expr => col(`ferry_x${j}`);

/** Why the model cannot be written as SQL, or undefined. */
export function xgboostSqlRefusal(m: CompiledModel): string | undefined {
  if (m.model.type === 'trees' && m.model.categorical) return 'its trees have categorical splits, which the SQL target does not write (export it for node or browser instead)';
  return undefined;
}

function tree(f: Forest, n: number, weight: number | undefined): Expr {
  const feature = f.feature[n]!;
  if (feature < 0) return num(weight === undefined ? f.value[n]! : f32(f.value[n]! * weight), 'real');
  const left = f.kid[n]!;
  const v = x(feature);
  const less = op('<', v, num(f.value[n]!, 'real'));
  const l = tree(f, left, weight);
  const r = tree(f, left + 1, weight);
  // NULL < t is NULL, which CASE treats as false: without the IS NULL test, missing goes right.
  return when([[f.missing[n] === left ? op('OR', less, isNull(v)) : less, l]], r);
}

function forestMargins(m: CompiledModel, f: Forest): Expr[] {
  return Array.from({ length: m.numGroup }, (_, g) => {
    const trees: Expr[] = [];
    f.roots.forEach((root, t) => {
      if (f.groups[t] === g) trees.push(tree(f, root, f.weights?.[t]));
    });
    return sum([num(m.baseMargin, 'real'), ...trees]);
  });
}

function linearMargins(m: CompiledModel, l: Linear): Expr[] {
  const G = m.numGroup;
  return Array.from({ length: G }, (_, g) => {
    const terms: Expr[] = [num(f32(l.bias[g]! + m.baseMargin), 'real')];
    for (let j = 0; j < m.numFeature; j++) {
      const w = l.weights[j * G + g]!;
      if (w !== 0) terms.push(call('COALESCE', op('*', x(j), num(w, 'real')), num(0, 'real')));
    }
    return sum(terms);
  });
}

/** The scoring steps (inputs → margins → scores) and the output columns. */
export function xgboostSql(m: CompiledModel, columns: readonly string[], outputs: readonly TensorSpec[]): { steps: Step[]; final: [string, Expr][] } {
  const G = m.numGroup;
  const margins = m.model.type === 'trees' ? forestMargins(m, m.model) : linearMargins(m, m.model);
  const mName = (g: number): string => `ferry_m${g}`;
  const sName = (g: number): string => `ferry_s${g}`;
  const mCol = (g: number): Expr => col(mName(g));
  const steps: Step[] = [
    { name: 'ferry_x', columns: columns.map((c, j) => [`ferry_x${j}`, cast(col(c), 'real')] as const) },
    { name: 'ferry_m', columns: margins.map((e, g) => [mName(g), e] as const) },
  ];
  const one = num(1, 'real');
  const score = (g: number): Expr => {
    const mg = mCol(g);
    switch (m.transform) {
      case 'identity': return mg;
      case 'sigmoid': return cast(op('/', one, cast(op('+', one, cast(call('EXP', neg(mg)), 'real')), 'real')), 'real');
      case 'exp': return cast(call('EXP', mg), 'real');
      case 'hinge': return when([[op('>', mg, num(0, 'real')), one]], num(0, 'real'));
      case 'softmax': return mg; // below
    }
  };
  if (m.transform === 'softmax') {
    const max = call('GREATEST', ...Array.from({ length: G }, (_, g) => mCol(g)));
    steps.push({ name: 'ferry_e', columns: Array.from({ length: G }, (_, g) => [`ferry_e${g}`, cast(call('EXP', cast(op('-', mCol(g), max), 'real')), 'real')] as const) });
    // The sum in double, rounded once to float32 (xgboost's common::Softmax).
    const total = cast(sum(Array.from({ length: G }, (_, g) => cast(col(`ferry_e${g}`), 'double'))), 'real');
    steps.push({ name: 'ferry_s', columns: Array.from({ length: G }, (_, g) => [sName(g), op('/', col(`ferry_e${g}`), total)] as const) });
  } else {
    steps.push({ name: 'ferry_s', columns: Array.from({ length: G }, (_, g) => [sName(g), score(g)] as const) });
  }
  const binary = m.kind === 'binary';
  return { steps, final: scoreColumns(outputs, Array.from({ length: G }, (_, g) => sName(g)), binary, 'real') };
}
