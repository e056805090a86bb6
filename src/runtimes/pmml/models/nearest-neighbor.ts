/**
 * NearestNeighborModel: TrainingInstances are read once into one typed column per KNNInput (transformed
 * through the model's derived fields when isTransformed="false"), plus target and id columns. A row is
 * compared with every instance through the ComparisonMeasure; the numberOfNeighbors best (stable order on
 * ties) vote: continuous targets by average / median / weightedAverage (weight 1/(distance + threshold)),
 * categorical ones by majorityVote / weightedMajorityVote (ties: the category with more training cases,
 * then the smallest value). Entities = the neighbours, best first, with their instance ids.
 */
import type { CompileContext, Expr, KernelCompiler, Prediction, Row, Value } from '../types.js';
import { attr, child, children, type XmlElement } from '../xml.js';
import { compileMeasure, keyOf, numAttr, rank, reqAttr, reqChild, reqChildren, toNum, type MeasureField } from './kernel-helpers.js';

export const compileNearestNeighbor: KernelCompiler = (el, ctx) => {
  const k = numAttr(el, 'numberOfNeighbors', ctx);
  if (k === undefined || !Number.isInteger(k) || k < 1) return ctx.invalid(el, 'numberOfNeighbors must be a positive integer');
  const ti = reqChild(el, 'TrainingInstances', ctx);
  const table = child(ti, 'InlineTable');
  if (!table) return ctx.unsupported(child(ti, 'TableLocator') ?? ti, 'training instances outside an InlineTable');
  const columnOf = new Map<string, string>();
  for (const f of reqChildren(reqChild(ti, 'InstanceFields', ctx), 'InstanceField', ctx)) columnOf.set(reqAttr(f, 'field', ctx), attr(f, 'column') ?? reqAttr(f, 'field', ctx));
  const rawRows = children(table, 'row').map((r) => {
    const values = new Map<string, Value>();
    for (const [field, column] of columnOf) {
      const cell = child(r, column);
      const text = cell?.text.trim();
      values.set(field, text === undefined || text === '' ? null : ctx.field(field) ? ctx.parse(field, text) : text);
    }
    return values;
  });
  const n = rawRows.length;
  if (n === 0) return ctx.invalid(table, 'no training instances');
  const transformed = attr(ti, 'isTransformed') === 'true';
  const rowOf = transformed ? plainRow : derivedRows(el, ctx);
  const instances = rawRows.map(rowOf);

  const cm = reqChild(el, 'ComparisonMeasure', ctx);
  const defaultCompare = attr(cm, 'compareFunction') ?? 'absDiff';
  const inputs = reqChildren(reqChild(el, 'KNNInputs', ctx), 'KNNInput', ctx);
  const inputNames = inputs.map((i) => reqAttr(i, 'field', ctx));
  const fields: MeasureField[] = inputs.map((i) => ({
    compareFunction: attr(i, 'compareFunction') ?? defaultCompare,
    weight: numAttr(i, 'fieldWeight', ctx, 1),
    similarityScale: numAttr(i, 'similarityScale', ctx),
  }));
  const measure = compileMeasure(cm, fields, undefined, ctx);
  const m = inputNames.length;
  // Row-major instance matrix: instance j's inputs at [j*m, j*m+m). A categorical input (text values, compared
  // with delta/equal) is coded by the order its values first appear; an unseen row value gets a code of its own.
  const matrix = new Float64Array(n * m);
  const codes: (Map<string, number> | undefined)[] = inputNames.map((f, i) => {
    const texts = instances.map((r) => r.get(f));
    if (!texts.some((v) => typeof v === 'string' && toNum(v) === null)) return undefined;
    if (fields[i]!.compareFunction !== 'delta' && fields[i]!.compareFunction !== 'equal') return ctx.unsupported(inputs[i]!, `compareFunction="${fields[i]!.compareFunction}" on a categorical field`);
    const map = new Map<string, number>();
    for (const v of texts) if (v !== null && !map.has(keyOf(v))) map.set(keyOf(v), map.size);
    return map;
  });
  const encode = (i: number, v: Value): number => {
    if (v === null) return NaN;
    const map = codes[i];
    if (map) return map.get(keyOf(v)) ?? -1;
    return toNum(v) ?? NaN;
  };
  instances.forEach((r, j) => inputNames.forEach((f, i) => {
    const v = encode(i, r.get(f));
    if (Number.isNaN(v)) return ctx.invalid(table, `training instance ${j + 1} has no value for ${f}`);
    matrix[j * m + i] = v;
  }));

  const idField = attr(el, 'instanceIdVariable');
  const ids = rawRows.map((r, j) => (idField ? keyOf(r.get(idField) ?? String(j + 1)) : String(j + 1)));
  const threshold = numAttr(el, 'threshold', ctx, 0.001);
  const continuousMethod = attr(el, 'continuousScoringMethod') ?? 'average';
  const categoricalMethod = attr(el, 'categoricalScoringMethod') ?? 'majorityVote';
  if (!['average', 'median', 'weightedAverage'].includes(continuousMethod)) ctx.unsupported(el, `continuousScoringMethod="${continuousMethod}"`);
  if (!['majorityVote', 'weightedMajorityVote'].includes(categoricalMethod)) ctx.unsupported(el, `categoricalScoringMethod="${categoricalMethod}"`);

  const scorers = ctx.targets.map((t) => {
    const column = rawRows.map((r) => r.get(t.name) ?? null);
    if (t.opType === 'continuous') {
      const values = Float64Array.from(column, (v) => toNum(v) ?? NaN);
      return { name: t.name, score: (nb: readonly number[], dist: Float64Array): Value => continuous(values, nb, dist, continuousMethod, threshold) };
    }
    const counts = new Map<string, number>();
    for (const v of column) if (v !== null) counts.set(keyOf(v), (counts.get(keyOf(v)) ?? 0) + 1);
    return { name: t.name, score: (nb: readonly number[], dist: Float64Array): Value => categorical(column, counts, nb, dist, categoricalMethod === 'weightedMajorityVote', threshold) };
  });
  const kk = Math.min(k, n);

  return {
    evaluate(row: Row): Prediction {
      const x = new Float64Array(m);
      for (let i = 0; i < m; i++) x[i] = encode(i, row.get(inputNames[i]!));
      const scores = new Float64Array(n);
      for (let j = 0; j < n; j++) scores[j] = measure.compare(x, matrix, j * m);
      const neighbours = rank(scores, measure.better).slice(0, kk);
      if (neighbours.some((j) => Number.isNaN(scores[j]!))) return { value: null };
      const entities = neighbours.map((j) => ({ id: ids[j]!, affinity: scores[j]! }));
      const targets = new Map<string, Value>();
      for (const s of scorers) targets.set(s.name, s.score(neighbours, scores));
      const value = scorers.length > 0 ? targets.get(ctx.target?.name ?? scorers[0]!.name) ?? null : ids[neighbours[0]!]!;
      return { value, entityId: entities[0]!.id, entities, ...(targets.size > 1 ? { targets } : {}) };
    },
  };
};

function plainRow(values: ReadonlyMap<string, Value>): Row {
  return { get: (name) => values.get(name) ?? null };
}

/** Rows that compute the model's derived fields: the core's when it offers them, else this model's LocalTransformations. */
function derivedRows(el: XmlElement, ctx: CompileContext): (values: ReadonlyMap<string, Value>) => Row {
  if (ctx.row) return (values) => ctx.row!(values);
  const derived = new Map<string, Expr>();
  const lt = child(el, 'LocalTransformations');
  for (const df of lt ? children(lt, 'DerivedField') : []) {
    const expr = df.children.find((c) => c.name !== 'Extension');
    if (expr) derived.set(reqAttr(df, 'name', ctx), ctx.expression(expr));
  }
  return (values) => {
    const cache = new Map(values);
    const row: Row = {
      get(name) {
        if (cache.has(name)) return cache.get(name) ?? null;
        const d = derived.get(name);
        const v = d ? d(row) : null;
        cache.set(name, v);
        return v;
      },
    };
    return row;
  };
}

function continuous(values: Float64Array, nb: readonly number[], dist: Float64Array, method: string, threshold: number): Value {
  const v = nb.map((j) => values[j]!);
  if (v.some(Number.isNaN)) return null;
  if (method === 'median') {
    const s = [...v].sort((a, b) => a - b);
    const h = s.length >> 1;
    return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  }
  if (method === 'weightedAverage') {
    let sw = 0, s = 0;
    nb.forEach((j, i) => { const w = 1 / (dist[j]! + threshold); sw += w; s += w * v[i]!; });
    return s / sw;
  }
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function categorical(column: readonly Value[], counts: ReadonlyMap<string, number>, nb: readonly number[], dist: Float64Array, weighted: boolean, threshold: number): Value {
  const votes = new Map<string, { value: Value; votes: number }>();
  for (const j of nb) {
    const v = column[j] ?? null;
    if (v === null) return null;
    const e = votes.get(keyOf(v)) ?? { value: v, votes: 0 };
    e.votes += weighted ? 1 / (dist[j]! + threshold) : 1;
    votes.set(keyOf(v), e);
  }
  let top = -Infinity;
  for (const e of votes.values()) top = Math.max(top, e.votes);
  let winners = [...votes].filter(([, e]) => e.votes === top);
  if (winners.length > 1) {
    const most = Math.max(...winners.map(([key]) => counts.get(key) ?? 0));
    winners = winners.filter(([key]) => (counts.get(key) ?? 0) === most);
    winners.sort(([a, ea], [b, eb]) => (typeof ea.value === 'number' && typeof eb.value === 'number' ? ea.value - eb.value : a < b ? -1 : a > b ? 1 : 0));
  }
  return winners[0]![1].value;
}
