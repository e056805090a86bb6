/**
 * PMML in SQL, from the server's own compiled form of the document (`TopModel.exportForm`): trees
 * and tree ensembles as the batch kernel's flat layout — each tree's walk as a CASE giving the node
 * it stops at, with the tree's missing-value strategy — and regressions as their linear kernel.
 * Arithmetic in DOUBLE in the kernels' order: trees summed in segment order, terms in field order.
 */
import type { TensorSpec } from '../../core/signature.js';
import type { ExportForm, ResultPlan } from '../../runtimes/pmml/model.js';
import { TREE_MODES } from '../../runtimes/pmml/models/tree.js';
import type { EnsembleLayout, LinearKernel, Value } from '../../runtimes/pmml/types.js';
import { argmax } from './score-columns.js';
import { call, cast, col, isNull, neg, NULL, num, op, str, sum, when, type Expr, type Step } from './sql-ast.js';

const x = (j: number): Expr => col(`ferry_x${j}`);
const one = num(1, 'double');
const zero = num(0, 'double');

function inputStep(fields: readonly string[], fills: ReadonlyMap<string, number>): Step {
  return {
    name: 'ferry_x',
    columns: fields.map((f, j) => {
      const v = cast(col(f), 'double');
      const fill = fills.get(f);
      return [`ferry_x${j}`, fill === undefined ? v : call('COALESCE', v, num(fill, 'double'))] as const;
    }),
  };
}

/** The node tree `t` stops at from node `n` (its global index), or NULL when it gives no prediction; `reached` collects the nodes. */
function walk(L: EnsembleLayout, t: number, n: number, reached: Set<number>): Expr {
  const outcome = (node: number): Expr => {
    if (L.kind[node] !== 1) return NULL;
    reached.add(node);
    return num(node, 'int');
  };
  const l = L.left[n]!;
  if (l < 0) return outcome(n);
  const r = L.right[n]!;
  const v = x(L.feature[n]!);
  const less = op(L.strict[n] === 1 ? '<' : '<=', v, num(L.thr[n]!, 'double'));
  const mode = L.mode[t]!;
  // Where a missing value goes: a child (folded into the comparison) or an outcome of its own.
  let missing: 'left' | 'right' | Expr;
  if (mode === TREE_MODES.LAST) missing = outcome(n);
  else if (mode === TREE_MODES.NULL) missing = NULL;
  else if (mode === TREE_MODES.DEFAULT) {
    const d = L.dflt[n]!;
    missing = d < 0 ? outcome(n) : d === l ? 'left' : d === r ? 'right' : walk(L, t, d, reached);
  } else missing = L.rightAlways[n] === 1 ? 'right' : L.returnLast[t] === 1 ? outcome(n) : NULL;
  // NULL <= t is NULL, which CASE treats as false: a missing value then takes the ELSE (right) branch.
  if (missing === 'right') return when([[less, walk(L, t, l, reached)]], walk(L, t, r, reached));
  if (missing === 'left') return when([[op('OR', isNull(v), less), walk(L, t, l, reached)]], walk(L, t, r, reached));
  return when([[isNull(v), missing], [less, walk(L, t, l, reached)]], walk(L, t, r, reached));
}

/** `CASE WHEN node = n THEN value(n) … END` over the nodes a tree can stop at (NULL otherwise). */
function byNode(node: Expr, nodes: readonly number[], value: (n: number) => Expr): Expr {
  return nodes.length === 0 ? NULL : when(nodes.map((n) => [op('=', node, num(n, 'int')), value(n)] as const), NULL);
}

function valueLiteral(v: Value): Expr {
  if (v === null) return NULL;
  if (typeof v === 'number') return num(v, 'double');
  return str(String(v));
}

/** The output columns: each result is the predicted value or one category's probability. */
function resultColumns(outputs: readonly TensorSpec[], plan: ResultPlan, value: Expr, probability: (k: number) => Expr): [string, Expr][] {
  return outputs.map((o) => {
    const how = plan.results.get(o.name);
    if (!how) throw new RangeError(`no source for output "${o.name}"`);
    return [o.name, how.kind === 'value' ? value : probability(how.index)];
  });
}

/** The predicted category from its index column (NULL stays NULL). */
function categoryOf(index: Expr, plan: ResultPlan): Expr {
  return when(plan.categoryValues.map((v, k) => [op('=', index, num(k, 'int')), valueLiteral(v)] as const), NULL);
}

function ensembleSql(L: EnsembleLayout, plan: ResultPlan, outputs: readonly TensorSpec[], fills: ReadonlyMap<string, number>): { steps: Step[]; final: [string, Expr][] } {
  const T = L.root.length;
  const K = L.categories.length;
  const tCol = (t: number): Expr => col(`ferry_t${t}`);
  const reached: number[][] = [];
  const trees = Array.from({ length: T }, (_, t) => {
    const nodes = new Set<number>();
    const e = walk(L, t, L.root[t]!, nodes);
    reached.push([...nodes].sort((a, b) => a - b));
    return [`ferry_t${t}`, e] as const;
  });
  const steps: Step[] = [inputStep(L.fields, fills), { name: 'ferry_t', columns: trees }];
  const weighted = L.method === 'weightedAverage' || L.method === 'weightedSum';
  if (!L.classification) {
    // A tree with no prediction makes the row missing: NULL propagates through the sum.
    const terms = Array.from({ length: T }, (_, t) => byNode(tCol(t), reached[t]!, (n) => (weighted ? op('*', num(L.leafValue[n]!, 'double'), num(L.weight[t]!, 'double')) : num(L.leafValue[n]!, 'double'))));
    let total = sum(terms);
    if (L.method === 'average') total = op('/', total, num(T, 'double'));
    if (L.method === 'weightedAverage') total = op('/', total, num(Array.from(L.weight).reduce((a, w) => a + w, 0), 'double'));
    steps.push({ name: 'ferry_v', columns: [['ferry_value', total]] });
    return { steps, final: resultColumns(outputs, plan, col('ferry_value'), () => NULL) };
  }
  const given = (t: number): Expr => op('>=', tCol(t), num(0, 'int'));
  const acc = Array.from({ length: K }, (_, k) => sum(Array.from({ length: T }, (_, t) => call('COALESCE',
    byNode(tCol(t), reached[t]!, (n) => (weighted ? op('*', num(L.leafVector[n * K + k]!, 'double'), num(L.weight[t]!, 'double')) : num(L.leafVector[n * K + k]!, 'double'))), zero))));
  const count = sum(Array.from({ length: T }, (_, t) => when([[given(t), one]], zero)));
  const sw = sum(Array.from({ length: T }, (_, t) => when([[given(t), num(L.weight[t]!, 'double')]], zero)));
  steps.push({ name: 'ferry_a', columns: [...acc.map((e, k) => [`ferry_a${k}`, e] as const), ['ferry_n', count] as const, ['ferry_w', sw] as const] });
  const divide = L.method === 'sum' ? one : L.method === 'weightedAverage' ? col('ferry_w') : col('ferry_n');
  const none = op('=', col('ferry_n'), zero);
  steps.push({
    name: 'ferry_p',
    columns: [
      ...Array.from({ length: K }, (_, k) => [`ferry_p${k}`, when([[none, NULL]], op('/', col(`ferry_a${k}`), divide))] as const),
      ['ferry_k', when([[none, NULL]], argmax(Array.from({ length: K }, (_, k) => col(`ferry_a${k}`))))] as const,
    ],
  });
  return { steps, final: resultColumns(outputs, plan, categoryOf(col('ferry_k'), plan), (k) => col(`ferry_p${k}`)) };
}

function linearSql(lin: LinearKernel, categories: readonly string[], plan: ResultPlan, outputs: readonly TensorSpec[], fills: ReadonlyMap<string, number>): { steps: Step[]; final: [string, Expr][] } {
  const G = lin.groups;
  // Every field's term, zero weights included: a missing input makes the prediction missing, as in the kernel.
  const margins = Array.from({ length: G }, (_, g) => sum([num(lin.bias[g]!, 'double'), ...lin.fields.map((_, j) => op('*', num(lin.weights[j * G + g]!, 'double'), x(j)))]));
  const m = (g: number): Expr => col(`ferry_m${g}`);
  const steps: Step[] = [inputStep(lin.fields, fills), { name: 'ferry_m', columns: margins.map((e, g) => [`ferry_m${g}`, e] as const) }];
  const sigmoid = (e: Expr, scale: number): Expr => op('/', one, op('+', one, call('EXP', neg(scale === 1 ? e : op('*', num(scale, 'double'), e)))));
  const link = lin.link;
  if (categories.length === 0) {
    const value = link.kind === 'sigmoid' ? sigmoid(m(0), link.scale) : link.kind === 'exp' ? call('EXP', m(0)) : m(0);
    return { steps, final: resultColumns(outputs, plan, value, () => NULL) };
  }
  const K = categories.length;
  const p = (k: number): Expr => col(`ferry_p${k}`);
  if (link.kind === 'softmax') {
    const max = call('GREATEST', ...Array.from({ length: G }, (_, g) => m(g)));
    steps.push({ name: 'ferry_e', columns: Array.from({ length: G }, (_, g) => [`ferry_e${g}`, call('EXP', op('-', m(g), max))] as const) });
    const total = sum(Array.from({ length: G }, (_, g) => col(`ferry_e${g}`)));
    steps.push({ name: 'ferry_p', columns: Array.from({ length: K }, (_, k) => [`ferry_p${k}`, op('/', col(`ferry_e${k}`), total)] as const) });
  } else {
    // Two categories under logit: P(first) = sigmoid(its margin), the second the rest.
    const scale = link.kind === 'sigmoid' ? link.scale : 1;
    steps.push({ name: 'ferry_p', columns: [['ferry_p0', sigmoid(m(0), scale)], ['ferry_p1', op('-', one, sigmoid(m(0), scale))]] });
  }
  // A missing input leaves every probability NULL: so is the prediction.
  const index = when([[isNull(p(0)), NULL]], argmax(Array.from({ length: K }, (_, k) => p(k))));
  return { steps, final: resultColumns(outputs, plan, categoryOf(index, plan), p) };
}

/** Input columns a PMML query reads, in the layout's order. */
export function pmmlSqlFields(form: ExportForm): readonly string[] {
  return form.kind === 'ensemble' ? form.layout.fields : form.linear.fields;
}

/** Why the form cannot be written (beyond what exportForm already refused), or undefined. */
export function pmmlSqlRefusal(form: ExportForm): string | undefined {
  if (form.kind === 'ensemble') {
    const L = form.layout;
    if (L.vote) return `multipleModelMethod="${L.method}" (votes) is not written in SQL; average, weightedAverage and sum are`;
    if (!L.classification && !['sum', 'average', 'weightedAverage', 'weightedSum'].includes(L.method)) return `multipleModelMethod="${L.method}" is not written in SQL`;
    if (L.classification && !['sum', 'average', 'weightedAverage'].includes(L.method)) return `multipleModelMethod="${L.method}" is not written in SQL`;
    return undefined;
  }
  const { link, groups } = form.linear;
  if (form.categories.length > 0 && !(link.kind === 'softmax' && groups === form.categories.length) && !(link.kind === 'sigmoid' && form.categories.length === 2)) return 'its normalizationMethod is not softmax, or logit with two categories';
  if (form.categories.length === 0 && link.kind !== 'identity' && link.kind !== 'sigmoid' && link.kind !== 'exp') return `its normalization (${link.kind}) is not written in SQL`;
  return undefined;
}

export function pmmlSql(form: ExportForm, outputs: readonly TensorSpec[]): { steps: Step[]; final: [string, Expr][] } {
  return form.kind === 'ensemble' ? ensembleSql(form.layout, form.plan, outputs, form.fills) : linearSql(form.linear, form.categories, form.plan, outputs, form.fills);
}
