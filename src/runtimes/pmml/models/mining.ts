/**
 * MiningModel: a Segmentation of nested models combined by multipleModelMethod — modelChain
 * (segment outputs feed later segments), selectFirst, selectAll (each selected segment's result,
 * read by OutputFields with a segmentId), sum/average/weightedAverage/median/max (regression),
 * majorityVote/weightedMajorityVote/average/weightedAverage/median/max (classification),
 * majorityVote/weightedMajorityVote over cluster ids (clustering). OutputFields with a segmentId read one
 * segment's result in selectAll and modelChain. Segments
 * are compiled once; their predicates are closures. Tree ensembles also get a batch form (ensemble.ts).
 */
import { ModelRow } from '../row.js';
import type { CompiledModel, Expr, FieldInfo, KernelCompiler, Prediction, Row, ScoredRow, Value } from '../types.js';
import { attr, child, children } from '../xml.js';
import { MODEL_ELEMENTS } from '../model-elements.js';
import { parseNumber } from '../values.js';
import { compileEnsemble } from './ensemble.js';

interface Segment {
  readonly id: string;
  readonly test: (row: Row) => boolean | null;
  readonly weight: number;
  /** VariableWeight: the weight is this output field of the segment's model. */
  readonly weightField: string | undefined;
  readonly model: CompiledModel;
  /** The predicate is <True/>. */
  readonly always: boolean;
}

interface Voted {
  readonly p: Prediction;
  readonly weight: number;
}

const NO_DERIVED: ReadonlyMap<string, Expr> = new Map<string, Expr>();
const PREDICATES = new Set(['SimplePredicate', 'SimpleSetPredicate', 'CompoundPredicate', 'True', 'False']);
const METHODS = new Set(['modelChain', 'selectFirst', 'selectAll', 'sum', 'average', 'weightedAverage', 'median', 'max', 'majorityVote', 'weightedMajorityVote', 'weightedSum']);

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

  const chained = (row: Row): Prediction => {
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
  };

  const firstMatch = (row: Row): Prediction => {
    for (const s of segments) {
      if (s.test(row) !== true) continue;
      const r = s.model.score(row);
      return { ...r.prediction, extra: new Map([...(r.prediction.extra ?? []), ...r.fields, ['segmentId', s.id]]) };
    }
    return { value: null };
  };

  // selectAll: every segment whose predicate is true is scored, in document order; each result is
  // kept by Segment id for the OutputFields that name a segmentId. The model's own predicted value
  // (in PMML the list of all selected segments' values) is missing: a result column holds one value per row.
  const selectAll = (row: Row): Prediction => {
    const results = new Map<string, ScoredRow>();
    for (const s of segments) if (s.test(row) === true) results.set(s.id, s.model.score(row));
    return { value: null, segments: results };
  };

  /** Each segment whose predicate is true: its prediction and weight. */
  const collect = (row: Row): Voted[] => {
    const out: Voted[] = [];
    for (const s of segments) {
      if (s.test(row) !== true) continue;
      const r = s.model.score(row);
      out.push({ p: r.prediction, weight: weightOf(s, r) });
    }
    return out;
  };

  // Fast path for ensembles of numeric trees (every segment True, no weights from outputs):
  // the field values are read once per row into an array the trees index.
  const fastSegments = !chain && method !== 'selectFirst' && method !== 'selectAll' && segments.every((s) => s.always && s.weightField === undefined && s.model.numeric !== undefined);
  const fastFields = fastSegments ? [...new Set(segments.flatMap((s) => s.model.numeric!.fields))] : [];
  const slotOf = new Map(fastFields.map((f, i) => [f, i]));
  const fastSlots = fastSegments ? segments.map((s) => Int32Array.from(s.model.numeric!.fields, (f) => slotOf.get(f)!)) : [];
  const x = new Float64Array(fastFields.length);
  const readFields = (row: Row): void => {
    for (let i = 0; i < fastFields.length; i++) {
      const v = row.get(fastFields[i]!);
      x[i] = v === null ? Number.NaN : typeof v === 'number' ? v : parseNumber(String(v));
    }
  };
  const collectFast = (row: Row): Voted[] => {
    readFields(row);
    const out: Voted[] = new Array<Voted>(segments.length);
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      out[i] = { p: s.model.numeric!.evaluate(x, fastSlots[i]!), weight: s.weight };
    }
    return out;
  };
  const gather = fastSegments ? collectFast : collect;

  const regression = (row: Row): Prediction => {
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
      default: return ctx.unsupported(segmentation, `multipleModelMethod="${method}" is not supported for regression`);
    }
  };

  // Averaging a numeric tree ensemble: each leaf's probabilities as a vector over the declared
  // categories, computed once per leaf, summed per row in segment order.
  const categories = ctx.target?.values ?? [];
  const vectorVote = fastSegments && classification && categories.length > 0 && (method === 'average' || method === 'weightedAverage' || method === 'sum');
  const catIndex = new Map(categories.map((c, i) => [c, i]));
  const vectors = new Map<Prediction, Float64Array | null>();
  const vectorOf = (p: Prediction): Float64Array | null => {
    let v = vectors.get(p);
    if (v !== undefined) return v;
    v = new Float64Array(categories.length);
    const entries = p.probabilities ? [...p.probabilities] : p.value === null ? [] : [[String(p.value), 1] as const];
    for (const [k, x] of entries) {
      const i = catIndex.get(k);
      if (i === undefined) { v = null; break; }
      v[i] = x;
    }
    vectors.set(p, v);
    return v;
  };
  const acc = new Float64Array(categories.length);
  const EMPTY = new Float64Array(0);
  const leafVectors: (Float64Array | null | undefined)[][] = segments.map(() => []);
  const voteVectors = (row: Row): Prediction | undefined => {
    acc.fill(0);
    let n = 0;
    let sw = 0;
    const weighted = method === 'weightedAverage';
    readFields(row);
    for (let s = 0; s < segments.length; s++) {
      const segment = segments[s]!;
      const numeric = segment.model.numeric!;
      const weight = segment.weight;
      let v: Float64Array | null;
      if (numeric.leaf && numeric.outcomes) {
        // Vectors by leaf index: no hashing per tree.
        const i = numeric.leaf(x, fastSlots[s]!);
        if (i < 0) continue;
        const cache = leafVectors[s]!;
        let c = cache[i];
        if (c === undefined) {
          const p = numeric.outcomes[i]!;
          c = !p.probabilities && p.value === null ? EMPTY : vectorOf(p);
          cache[i] = c;
        }
        if (c === EMPTY) continue;
        v = c;
      } else {
        const p = numeric.evaluate(x, fastSlots[s]!);
        if (!p.probabilities && p.value === null) continue;
        v = vectorOf(p);
      }
      if (!v) return undefined; // a category the target does not declare: take the general path
      n++;
      sw += weight;
      for (let i = 0; i < v.length; i++) acc[i] = acc[i]! + (weighted ? v[i]! * weight : v[i]!);
    }
    if (n === 0) return { value: null };
    const divide = method === 'sum' ? 1 : weighted ? sw : n;
    const probabilities = new Map<string, number>();
    let best = 0;
    for (let i = 0; i < categories.length; i++) {
      probabilities.set(categories[i]!, acc[i]! / divide);
      if (acc[i]! > acc[best]!) best = i;
    }
    return { value: parseCategory(categories[best]!), probabilities };
  };

  const vote = (row: Row): Prediction => {
    if (vectorVote) {
      const p = voteVectors(row);
      if (p) return p;
    }
    const scores = new Map<string, number>();
    const typed = new Map<string, Value>();
    let total = 0;
    const perSegment: { probabilities: ReadonlyMap<string, number>; weight: number; value: Value }[] = [];
    for (const { p, weight } of gather(row)) {
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
      return { value: typed.get(best) ?? parseCategory(best), probabilities, ...(clustering ? { entityId: best } : {}) };
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

  const evaluate = chain ? chained : method === 'selectFirst' ? firstMatch : method === 'selectAll' ? selectAll : classification || clustering ? vote : regression;
  // The whole ensemble as one flat layout, scored a batch at a time (models/ensemble.ts).
  const batch = fastSegments
    ? compileEnsemble({
      method, classification, fields: fastFields, categories, categoryValues: categories.map(parseCategory),
      segments: segments.map((s, i) => ({ numeric: s.model.numeric!, slots: fastSlots[i]!, weight: s.weight })),
    })
    : undefined;
  return {
    evaluate,
    ...(batch ? { batch } : {}),
    ...(method === 'selectAll' || chain ? { segmentResults: { ids: new Set(segments.map((s) => s.id)), whole: chain } } : {}),
    ...(chain ? { exposedFields: exposed } : {}),
  };
};
