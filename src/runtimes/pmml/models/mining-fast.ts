/**
 * MiningModel's fast path for ensembles of numeric trees (every segment `<True/>`, no weights from
 * outputs, every model with a numeric form): the field values are read once per row into an array
 * the trees index; averaged class probabilities are summed as vectors by leaf; and the whole
 * ensemble becomes one flat layout scored a batch at a time (ensemble.ts). Only trees compiled to
 * arrays (tree-arrays.ts) have a numeric form, so an exported package whose document scores no tree
 * from arrays carries a stand-in that finds no fast path (src/edge/narrowing.ts).
 */
import type { BatchKernel, CompiledModel, Prediction, Row, Value } from '../types.js';
import { parseNumber } from '../values.js';
import { compileEnsemble } from './ensemble.js';

/** A compiled Segment. */
export interface Segment {
  readonly id: string;
  readonly test: (row: Row) => boolean | null;
  readonly weight: number;
  /** VariableWeight: the weight is this output field of the segment's model. */
  readonly weightField: string | undefined;
  readonly model: CompiledModel;
  /** The predicate is <True/>. */
  readonly always: boolean;
}

/** A selected segment's prediction and weight. */
export interface Voted {
  readonly p: Prediction;
  readonly weight: number;
}

/** What the fast path needs of the MiningModel. */
export interface FastSpec {
  readonly segments: readonly Segment[];
  readonly method: string;
  readonly classification: boolean;
  /** The target's declared categories. */
  readonly categories: readonly string[];
  readonly parseCategory: (text: string) => Value;
}

export interface FastPath {
  /** Every segment's prediction and weight, from one read of the row's fields. */
  readonly gather: (row: Row) => Voted[];
  /**
   * Averaged class probabilities (average, weightedAverage, sum over declared categories) summed as
   * vectors; undefined for a row where a tree predicts a category the target does not declare.
   */
  readonly vote?: (row: Row) => Prediction | undefined;
  /** The whole ensemble as one flat layout, when it fits one. */
  readonly batch?: BatchKernel;
}

/** The fast path of a combining method's segments, or undefined when one of them has no numeric form. */
export function fastPath(spec: FastSpec): FastPath | undefined {
  const { segments, method, classification, categories, parseCategory } = spec;
  if (!segments.every((s) => s.always && s.weightField === undefined && s.model.numeric !== undefined)) return undefined;
  const fields = [...new Set(segments.flatMap((s) => s.model.numeric!.fields))];
  const slotOf = new Map(fields.map((f, i) => [f, i]));
  const slots = segments.map((s) => Int32Array.from(s.model.numeric!.fields, (f) => slotOf.get(f)!));
  const x = new Float64Array(fields.length);
  const readFields = (row: Row): void => {
    for (let i = 0; i < fields.length; i++) {
      const v = row.get(fields[i]!);
      x[i] = v === null ? Number.NaN : typeof v === 'number' ? v : parseNumber(String(v));
    }
  };
  const gather = (row: Row): Voted[] => {
    readFields(row);
    const out: Voted[] = new Array<Voted>(segments.length);
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      out[i] = { p: s.model.numeric!.evaluate(x, slots[i]!), weight: s.weight };
    }
    return out;
  };

  // Averaging a numeric tree ensemble: each leaf's probabilities as a vector over the declared
  // categories, computed once per leaf, summed per row in segment order.
  const vectorVote = classification && categories.length > 0 && (method === 'average' || method === 'weightedAverage' || method === 'sum');
  const catIndex = new Map(categories.map((c, i) => [c, i]));
  const vectors = new Map<Prediction, Float64Array | null>();
  const vectorOf = (p: Prediction): Float64Array | null => {
    let v = vectors.get(p);
    if (v !== undefined) return v;
    v = new Float64Array(categories.length);
    const entries = p.probabilities ? [...p.probabilities] : p.value === null ? [] : [[String(p.value), 1] as const];
    for (const [k, xk] of entries) {
      const i = catIndex.get(k);
      if (i === undefined) { v = null; break; }
      v[i] = xk;
    }
    vectors.set(p, v);
    return v;
  };
  const acc = new Float64Array(categories.length);
  const EMPTY = new Float64Array(0);
  const leafVectors: (Float64Array | null | undefined)[][] = segments.map(() => []);
  const vote = (row: Row): Prediction | undefined => {
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
        const i = numeric.leaf(x, slots[s]!);
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
        const p = numeric.evaluate(x, slots[s]!);
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

  const batch = compileEnsemble({
    method, classification, fields, categories, categoryValues: categories.map(parseCategory),
    segments: segments.map((s, i) => ({ numeric: s.model.numeric!, slots: slots[i]!, weight: s.weight })),
  });
  return { gather, ...(vectorVote ? { vote } : {}), ...(batch ? { batch } : {}) };
}
