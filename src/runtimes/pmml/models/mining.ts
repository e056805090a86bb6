/**
 * MiningModel: a Segmentation of nested models combined by multipleModelMethod — modelChain
 * (segment outputs feed later segments), selectFirst, sum/average/weightedAverage/median/max
 * (regression), majorityVote/weightedMajorityVote/average/weightedAverage/median/max
 * (classification). Segments are compiled once; their predicates are closures.
 */
import { ModelRow } from '../row.js';
import type { CompiledModel, Expr, FieldInfo, KernelCompiler, Prediction, Row, ScoredRow, Value } from '../types.js';
import { attr, child, children } from '../xml.js';
import { MODEL_ELEMENTS } from '../model.js';
import { parseNumber } from '../values.js';

interface Segment {
  readonly id: string;
  readonly test: (row: Row) => boolean | null;
  readonly weight: number;
  /** VariableWeight: the weight is this output field of the segment's model. */
  readonly weightField: string | undefined;
  readonly model: CompiledModel;
}

const NO_DERIVED: ReadonlyMap<string, Expr> = new Map<string, Expr>();
const PREDICATES = new Set(['SimplePredicate', 'SimpleSetPredicate', 'CompoundPredicate', 'True', 'False']);
const METHODS = new Set(['modelChain', 'selectFirst', 'sum', 'average', 'weightedAverage', 'median', 'max', 'majorityVote', 'weightedMajorityVote', 'weightedSum']);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function weightOf(s: Segment, r: ScoredRow): number {
  if (s.weightField === undefined) return s.weight;
  const w = r.fields.get(s.weightField);
  return typeof w === 'number' ? w : w === null || w === undefined ? 0 : parseNumber(String(w));
}

export const miningModel: KernelCompiler = (el, ctx) => {
  const segmentation = child(el, 'Segmentation') ?? ctx.invalid(el, 'MiningModel has no Segmentation');
  const segLt = child(segmentation, 'LocalTransformations');
  if (segLt) ctx.unsupported(segLt, 'LocalTransformations inside a Segmentation are not supported');
  const method = attr(segmentation, 'multipleModelMethod') ?? ctx.invalid(segmentation, 'attribute "multipleModelMethod" is required');
  if (!METHODS.has(method)) ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported`);
  const classification = attr(el, 'functionName') === 'classification';
  const chain = method === 'modelChain';
  const visible: FieldInfo[] = [];
  const exposed: FieldInfo[] = [];
  const segments: Segment[] = children(segmentation, 'Segment').map((s, i) => {
    const predicateEl = s.children.find((c) => PREDICATES.has(c.name)) ?? ctx.invalid(s, 'Segment has no predicate');
    const modelEl = s.children.find((c) => MODEL_ELEMENTS.has(c.name)) ?? ctx.invalid(s, 'Segment has no model');
    const weightText = attr(s, 'weight');
    const weight = weightText === undefined ? 1 : parseNumber(weightText);
    const test = ctx.predicate(predicateEl);
    const model = ctx.model(modelEl, chain ? visible : []);
    if (chain) {
      visible.push(...(model.outputs ?? []), ...(model.targets ?? []));
      exposed.push(...(model.finalOutputs ?? []));
    }
    const variable = child(s, 'VariableWeight');
    const weightField = variable ? attr(variable, 'field') ?? ctx.invalid(variable, 'attribute "field" is required') : undefined;
    return { id: attr(s, 'id') ?? String(i + 1), test, weight, weightField, model };
  });
  const targetNames = ctx.targets.map((t) => t.name);
  const parseCategory = (text: string): Value => (ctx.target ? ctx.parse(ctx.target.name, text) : text);

  const chained = (row: Row): Prediction => {
    const chainRow = new ModelRow(row, new Map(), NO_DERIVED);
    const extra = new Map<string, Value>();
    const targets = new Map<string, Value>();
    let last: ScoredRow | undefined;
    for (const s of segments) {
      if (s.test(chainRow) !== true) continue;
      const r = s.model.score(chainRow);
      for (const [k, v] of r.fields) {
        chainRow.set(k, v);
        extra.set(k, v);
        if (targetNames.includes(k)) targets.set(k, v);
      }
      last = r;
    }
    if (!last) return { value: null, extra };
    return { ...last.prediction, ...(targetNames.length > 1 ? { targets } : {}), extra };
  };

  const firstMatch = (row: Row): Prediction => {
    for (const s of segments) {
      if (s.test(row) !== true) continue;
      const r = s.model.score(row);
      return { ...r.prediction, extra: new Map([...(r.prediction.extra ?? []), ...r.fields]) };
    }
    return { value: null };
  };

  const regression = (row: Row): Prediction => {
    const values: number[] = [];
    const weights: number[] = [];
    for (const s of segments) {
      if (s.test(row) !== true) continue;
      const r = s.model.score(row);
      const v = r.prediction.value;
      if (v === null) return { value: null };
      values.push(typeof v === 'number' ? v : parseNumber(String(v)));
      weights.push(weightOf(s, r));
    }
    if (values.length === 0) return { value: null };
    switch (method) {
      case 'sum': return { value: values.reduce((a, b) => a + b, 0) };
      case 'weightedSum': return { value: values.reduce((a, b, i) => a + b * weights[i]!, 0) };
      case 'average': return { value: values.reduce((a, b) => a + b, 0) / values.length };
      case 'weightedAverage': {
        let sw = 0;
        let s = 0;
        values.forEach((v, i) => { s += v * weights[i]!; sw += weights[i]!; });
        return { value: s / sw };
      }
      case 'median': return { value: median(values) };
      case 'max': return { value: Math.max(...values) };
      default: return ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported for regression`);
    }
  };

  const vote = (row: Row): Prediction => {
    const scores = new Map<string, number>();
    const typed = new Map<string, Value>();
    let total = 0;
    const perSegment: { probabilities: ReadonlyMap<string, number>; weight: number; value: Value }[] = [];
    for (const s of segments) {
      if (s.test(row) !== true) continue;
      const r = s.model.score(row);
      const p = r.prediction;
      const weight = weightOf(s, r);
      if (method === 'majorityVote' || method === 'weightedMajorityVote') {
        if (p.value === null) continue;
        const k = String(p.value);
        const w = method === 'weightedMajorityVote' ? weight : 1;
        scores.set(k, (scores.get(k) ?? 0) + w);
        if (!typed.has(k)) typed.set(k, p.value);
        total += w;
      } else {
        if (!p.probabilities) {
          if (p.value === null) continue;
          perSegment.push({ probabilities: new Map([[String(p.value), 1]]), weight, value: p.value });
        } else perSegment.push({ probabilities: p.probabilities, weight, value: p.value });
      }
    }
    if (method === 'majorityVote' || method === 'weightedMajorityVote') {
      if (scores.size === 0) return { value: null };
      const probabilities = new Map([...scores].map(([k, v]) => [k, v / total]));
      let best = '';
      let bestV = -Infinity;
      for (const [k, v] of scores) if (v > bestV) { bestV = v; best = k; }
      return { value: typed.get(best) ?? parseCategory(best), probabilities };
    }
    if (perSegment.length === 0) return { value: null };
    const keys = [...new Set(perSegment.flatMap((s) => [...s.probabilities.keys()]))];
    const probabilities = new Map<string, number>();
    if (method === 'max') {
      // The segment most confident in its own prediction wins.
      let best = perSegment[0]!;
      let bestP = -Infinity;
      for (const s of perSegment) {
        const p = Math.max(...s.probabilities.values());
        if (p > bestP) { bestP = p; best = s; }
      }
      for (const [k, v] of best.probabilities) probabilities.set(k, v);
    } else {
      for (const k of keys) {
        const xs = perSegment.map((s) => s.probabilities.get(k) ?? 0);
        if (method === 'average') probabilities.set(k, xs.reduce((a, b) => a + b, 0) / xs.length);
        else if (method === 'weightedAverage') {
          const sw = perSegment.reduce((a, s) => a + s.weight, 0);
          probabilities.set(k, perSegment.reduce((a, s, i) => a + xs[i]! * s.weight, 0) / sw);
        } else if (method === 'median') probabilities.set(k, median(xs));
        else if (method === 'sum') probabilities.set(k, xs.reduce((a, b) => a + b, 0));
        else return ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported for classification`);
      }
    }
    let best = '';
    let bestV = -Infinity;
    for (const [k, v] of probabilities) if (v > bestV) { bestV = v; best = k; }
    return { value: parseCategory(best), probabilities };
  };

  const evaluate = chain ? chained : method === 'selectFirst' ? firstMatch : classification ? vote : regression;
  return {
    evaluate,
    ...(chain ? { exposedFields: exposed } : {}),
  };
};
