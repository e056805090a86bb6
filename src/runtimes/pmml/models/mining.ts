/**
 * MiningModel: a Segmentation of nested models combined by multipleModelMethod — modelChain
 * (segment outputs feed later segments), selectFirst, selectAll (each selected segment's result,
 * read by OutputFields with a segmentId), sum/average/weightedAverage/median/max (regression),
 * majorityVote/weightedMajorityVote/average/weightedAverage/median/max (classification),
 * majorityVote/weightedMajorityVote over cluster ids (clustering). OutputFields with a segmentId read one
 * segment's result in selectAll and modelChain. Segments
 * are compiled once; their predicates are closures. Tree ensembles also get a fast path and a batch
 * form (mining-fast.ts).
 */
import { ModelRow } from '../row.js';
import type { BatchKernel, Expr, FieldInfo, KernelCompiler, Prediction, Row, ScoredRow, Value } from '../types.js';
import { attr, child, children } from '../xml.js';
import { MODEL_ELEMENTS } from '../model-elements.js';
import { parseNumber } from '../values.js';
import { fastPath, type Segment, type Voted } from './mining-fast.js';

const NO_DERIVED: ReadonlyMap<string, Expr> = new Map<string, Expr>();
const PREDICATES = new Set(['SimplePredicate', 'SimpleSetPredicate', 'CompoundPredicate', 'True', 'False']);

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

/** A MiningModel's compiled segments and what combining their results needs. */
interface Combining {
  readonly segments: readonly Segment[];
  readonly method: string;
  readonly classification: boolean;
  readonly clustering: boolean;
  readonly targetNames: readonly string[];
  /** The target's declared categories. */
  readonly categories: readonly string[];
  readonly parseCategory: (text: string) => Value;
  /** Refuse the method (for a function it does not combine). */
  readonly unsupported: () => never;
}

/** How a multipleModelMethod scores a row from its segments (and a batch form, when the ensemble has one). */
type Combiner = (m: Combining) => { readonly evaluate: (row: Row) => Prediction; readonly batch?: BatchKernel };

/**
 * The combining methods, one entry a line: an exported package keeps the methods its document's
 * Segmentations name (src/edge/narrowing.ts). Which functions allow which methods: `allowed` below.
 */
const COMBINERS: Readonly<Record<string, Combiner>> = {
  modelChain: chained,
  selectFirst: firstMatch,
  selectAll: selectAll,
  majorityVote: majorityVote,
  weightedMajorityVote: majorityVote,
  sum: aggregated,
  weightedSum: aggregated,
  average: aggregated,
  weightedAverage: aggregated,
  median: aggregated,
  max: aggregated,
};

export const miningModel: KernelCompiler = (el, ctx) => {
  const segmentation = child(el, 'Segmentation') ?? ctx.invalid(el, 'MiningModel has no Segmentation');
  const segLt = child(segmentation, 'LocalTransformations');
  if (segLt) ctx.unsupported(segLt, 'LocalTransformations inside a Segmentation are not supported');
  const method = attr(segmentation, 'multipleModelMethod') ?? ctx.invalid(segmentation, 'attribute "multipleModelMethod" is required');
  const combine = Object.hasOwn(COMBINERS, method) ? COMBINERS[method]! : ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported`);
  const functionName = attr(el, 'functionName');
  const classification = functionName === 'classification';
  // Clustering segments vote with their cluster ids (majorityVote / weightedMajorityVote).
  const clustering = functionName === 'clustering';
  const chain = method === 'modelChain';
  const allowed = classification
    ? ['modelChain', 'selectFirst', 'selectAll', 'majorityVote', 'weightedMajorityVote', 'average', 'weightedAverage', 'median', 'max', 'sum']
    : clustering
      ? ['modelChain', 'selectFirst', 'selectAll', 'majorityVote', 'weightedMajorityVote']
      : ['modelChain', 'selectFirst', 'selectAll', 'sum', 'weightedSum', 'average', 'weightedAverage', 'median', 'max'];
  if (!allowed.includes(method)) ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported for ${attr(el, 'functionName') ?? 'this function'}`);
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
    return { id: attr(s, 'id') ?? String(i + 1), test, weight, weightField, model, always: predicateEl.name === 'True' };
  });
  const targetNames = ctx.targets.map((t) => t.name);
  const parseCategory = (text: string): Value => (ctx.target ? ctx.parse(ctx.target.name, text) : text);

  const categories = ctx.target?.values ?? [];
  const { evaluate, batch } = combine({
    segments, method, classification, clustering, targetNames, categories, parseCategory,
    unsupported: () => ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported for regression`),
  });
  return {
    evaluate,
    ...(batch ? { batch } : {}),
    ...(method === 'selectAll' || chain ? { segmentResults: { ids: new Set(segments.map((s) => s.id)), whole: chain } } : {}),
    ...(chain ? { exposedFields: exposed } : {}),
  };
};

/** modelChain: each selected segment scores in turn, its outputs visible to the later ones; the last one's result is the model's. */
function chained({ segments, targetNames }: Combining): { evaluate: (row: Row) => Prediction } {
  return {
    evaluate: (row) => {
      const chainRow = new ModelRow(row, new Map(), NO_DERIVED);
      const extra = new Map<string, Value>();
      const targets = new Map<string, Value>();
      const results = new Map<string, ScoredRow>();
      let last: ScoredRow | undefined;
      let lastId = '';
      for (const s of segments) {
        if (s.test(chainRow) !== true) continue;
        const r = s.model.score(chainRow);
        results.set(s.id, r);
        for (const [k, v] of r.fields) {
          chainRow.set(k, v);
          extra.set(k, v);
          if (targetNames.includes(k)) targets.set(k, v);
        }
        last = r;
        lastId = s.id;
      }
      if (!last) return { value: null, extra, segments: results };
      // OutputField feature="segmentId": the segment that gave the result.
      extra.set('segmentId', lastId);
      return { ...last.prediction, ...(targetNames.length > 1 ? { targets } : {}), extra, segments: results };
    },
  };
}

/** selectFirst: the first segment whose predicate is true. */
function firstMatch({ segments }: Combining): { evaluate: (row: Row) => Prediction } {
  return {
    evaluate: (row) => {
      for (const s of segments) {
        if (s.test(row) !== true) continue;
        const r = s.model.score(row);
        return { ...r.prediction, extra: new Map([...(r.prediction.extra ?? []), ...r.fields, ['segmentId', s.id]]) };
      }
      return { value: null };
    },
  };
}

/**
 * selectAll: every segment whose predicate is true is scored, in document order; each result is
 * kept by Segment id for the OutputFields that name a segmentId. The model's own predicted value
 * (in PMML the list of all selected segments' values) is missing: a result column holds one value per row.
 */
function selectAll({ segments }: Combining): { evaluate: (row: Row) => Prediction } {
  return {
    evaluate: (row) => {
      const results = new Map<string, ScoredRow>();
      for (const s of segments) if (s.test(row) === true) results.set(s.id, s.model.score(row));
      return { value: null, segments: results };
    },
  };
}

/** Each segment whose predicate is true: its prediction and weight (the fast path's when the ensemble has one). */
function gathering(segments: readonly Segment[], fast: ReturnType<typeof fastPath>): (row: Row) => Voted[] {
  if (fast) return fast.gather;
  return (row) => {
    const out: Voted[] = [];
    for (const s of segments) {
      if (s.test(row) !== true) continue;
      const r = s.model.score(row);
      out.push({ p: r.prediction, weight: weightOf(s, r) });
    }
    return out;
  };
}

/** majorityVote / weightedMajorityVote: the value with the most (weighted) votes; probability is its share (clustering: cluster ids vote). */
function majorityVote(m: Combining): { evaluate: (row: Row) => Prediction; batch?: BatchKernel } {
  const { segments, method, clustering, parseCategory } = m;
  const fast = fastPath(m);
  const gather = gathering(segments, fast);
  const weighted = method === 'weightedMajorityVote';
  const evaluate = (row: Row): Prediction => {
    const scores = new Map<string, number>();
    const typed = new Map<string, Value>();
    let total = 0;
    for (const { p, weight } of gather(row)) {
      if (p.value === null) continue;
      const k = String(p.value);
      const w = weighted ? weight : 1;
      scores.set(k, (scores.get(k) ?? 0) + w);
      if (!typed.has(k)) typed.set(k, p.value);
      total += w;
    }
    if (scores.size === 0) return { value: null };
    const probabilities = new Map([...scores].map(([k, v]) => [k, v / total]));
    let best = '';
    let bestV = -Infinity;
    for (const [k, v] of scores) if (v > bestV) { bestV = v; best = k; }
    return { value: typed.get(best) ?? parseCategory(best), probabilities, ...(clustering ? { entityId: best } : {}) };
  };
  return { evaluate, ...(fast?.batch ? { batch: fast.batch } : {}) };
}

/** sum, weightedSum, average, weightedAverage, median, max: of the values (regression) or of the class probabilities (classification). */
function aggregated(m: Combining): { evaluate: (row: Row) => Prediction; batch?: BatchKernel } {
  const fast = fastPath(m);
  const gather = gathering(m.segments, fast);
  const evaluate = m.classification ? averagedVote(m, gather, fast?.vote) : combinedValues(m, gather);
  return { evaluate, ...(fast?.batch ? { batch: fast.batch } : {}) };
}

function combinedValues({ method, unsupported }: Combining, gather: (row: Row) => Voted[]): (row: Row) => Prediction {
  return (row) => {
    const values: number[] = [];
    const weights: number[] = [];
    for (const { p, weight } of gather(row)) {
      const v = p.value;
      if (v === null) return { value: null };
      values.push(typeof v === 'number' ? v : parseNumber(String(v)));
      weights.push(weight);
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
      default: return unsupported();
    }
  };
}

function averagedVote({ method, parseCategory }: Combining, gather: (row: Row) => Voted[], vectors: ((row: Row) => Prediction | undefined) | undefined): (row: Row) => Prediction {
  return (row) => {
    if (vectors) {
      const p = vectors(row);
      if (p) return p;
    }
    const perSegment: { probabilities: ReadonlyMap<string, number>; weight: number; value: Value }[] = [];
    for (const { p, weight } of gather(row)) {
      if (!p.probabilities) {
        if (p.value === null) continue;
        perSegment.push({ probabilities: new Map([[String(p.value), 1]]), weight, value: p.value });
      } else perSegment.push({ probabilities: p.probabilities, weight, value: p.value });
    }
    if (perSegment.length === 0) return { value: null };
    let probabilities = new Map<string, number>();
    if (method === 'max') {
      // The segment most confident in its own prediction wins.
      let best = perSegment[0]!;
      let bestP = -Infinity;
      for (const s of perSegment) {
        const p = Math.max(...s.probabilities.values());
        if (p > bestP) { bestP = p; best = s; }
      }
      for (const [k, v] of best.probabilities) probabilities.set(k, v);
    } else if (method === 'median') {
      const keys = [...new Set(perSegment.flatMap((s) => [...s.probabilities.keys()]))];
      for (const k of keys) probabilities.set(k, median(perSegment.map((s) => s.probabilities.get(k) ?? 0)));
    } else {
      // Sums in segment order (as scikit-learn's forests add up their trees' probabilities).
      const weighted = method === 'weightedAverage';
      let sw = 0;
      for (const s of perSegment) {
        const w = weighted ? s.weight : 1;
        sw += w;
        for (const [k, v] of s.probabilities) probabilities.set(k, (probabilities.get(k) ?? 0) + (weighted ? v * w : v));
      }
      if (method !== 'sum') {
        const divide = weighted ? sw : perSegment.length;
        probabilities = new Map([...probabilities].map(([k, v]) => [k, v / divide]));
      }
    }
    let best = '';
    let bestV = -Infinity;
    for (const [k, v] of probabilities) if (v > bestV) { bestV = v; best = k; }
    return { value: parseCategory(best), probabilities };
  };
}
