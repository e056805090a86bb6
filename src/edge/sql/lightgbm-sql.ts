/**
 * LightGBM in SQL with LightGBM's decisions: inputs as DOUBLE, values within ±kZeroThreshold
 * read as 0, `x <= threshold` in double, NULL (NaN) or — for zero-as-missing splits — 0 going
 * the node's missing way, tree outputs summed in double in tree order, then the transform.
 */
import type { TensorSpec } from '../../core/signature.js';
import { ZERO_THRESHOLD, type LgbmForest, type LgbmModel } from '../../runtimes/lightgbm/lightgbm-model.js';
import { scoreColumns } from './score-columns.js';
import { call, cast, col, isNull, neg, num, op, sum, when, type Expr, type Step } from './sql-ast.js';

const x = (j: number): Expr => col(`ferry_x${j}`);
/** LightGBM's split kinds (lightgbm-model.ts): 0 plain numerical, 1 zero-as-missing, 2 categorical. */
const PLAIN = 0;
const ZERO = 1;

export function lightgbmSqlRefusal(m: LgbmModel): string | undefined {
  const f = m.forest;
  if (f.kind.some((k, n) => f.feature[n]! >= 0 && k !== PLAIN && k !== ZERO)) return 'its trees have categorical splits, which the SQL target does not write (export it for node or browser instead)';
  if (f.linCount.some((c) => c >= 0)) return 'it has linear leaves (linear_tree), which the SQL target does not write';
  return undefined;
}

function tree(f: LgbmForest, n: number): Expr {
  const feature = f.feature[n]!;
  if (feature < 0) return num(f.value[n]!, 'double');
  const left = f.kid[n]!;
  const v = x(feature);
  const missing = f.kind[n] === ZERO ? op('OR', isNull(v), op('=', v, num(0, 'double'))) : isNull(v);
  const toMissing = tree(f, f.missing[n]!);
  return when([[missing, toMissing], [op('<=', v, num(f.value[n]!, 'double')), tree(f, left)]], tree(f, left + 1));
}

export function lightgbmSql(m: LgbmModel, columns: readonly string[], outputs: readonly TensorSpec[]): { steps: Step[]; final: [string, Expr][] } {
  const K = m.numClass;
  const f = m.forest;
  const z = num(ZERO_THRESHOLD, 'double');
  const raw = Array.from({ length: K }, (_, k) => {
    const trees: Expr[] = [];
    f.roots.forEach((root, t) => {
      if (f.classes[t] === k) trees.push(tree(f, root));
    });
    const total = sum(trees);
    return m.averageOutput ? op('/', total, num(m.iterations, 'double')) : total;
  });
  const rCol = (k: number): Expr => col(`ferry_r${k}`);
  const steps: Step[] = [
    {
      name: 'ferry_x',
      columns: columns.map((c, j) => {
        const v = cast(col(c), 'double');
        return [`ferry_x${j}`, when([[op('AND', op('>=', v, neg(z)), op('<=', v, z)), num(0, 'double')]], v)] as const;
      }),
    },
    { name: 'ferry_r', columns: raw.map((e, k) => [`ferry_r${k}`, e] as const) },
  ];
  const one = num(1, 'double');
  const sName = (k: number): string => `ferry_s${k}`;
  if (m.transform === 'softmax') {
    const max = call('GREATEST', ...Array.from({ length: K }, (_, k) => rCol(k)));
    steps.push({ name: 'ferry_e', columns: Array.from({ length: K }, (_, k) => [`ferry_e${k}`, call('EXP', op('-', rCol(k), max))] as const) });
    const total = sum(Array.from({ length: K }, (_, k) => col(`ferry_e${k}`)));
    steps.push({ name: 'ferry_s', columns: Array.from({ length: K }, (_, k) => [sName(k), op('/', col(`ferry_e${k}`), total)] as const) });
  } else {
    const score = (k: number): Expr => {
      const r = rCol(k);
      switch (m.transform) {
        case 'identity': return r;
        case 'sigmoid': return op('/', one, op('+', one, call('EXP', neg(op('*', num(m.sigmoid, 'double'), r)))));
        case 'exp': return call('EXP', r);
        case 'square': return op('*', op('*', call('SIGN', r), r), r);
        case 'softmax': return r;
      }
    };
    steps.push({ name: 'ferry_s', columns: Array.from({ length: K }, (_, k) => [sName(k), score(k)] as const) });
  }
  return { steps, final: scoreColumns(outputs, Array.from({ length: K }, (_, k) => sName(k)), m.kind === 'binary', 'double') };
}
