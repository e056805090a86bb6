/**
 * Helpers shared by the kernels: attribute parsing, PMML arrays, category keys,
 * and the ComparisonMeasure (distance/similarity) used by ClusteringModel and NearestNeighborModel.
 */
import type { CompileContext, Value } from '../types.js';
import { attr, child, children, type XmlElement } from '../xml.js';

/** A numeric attribute; `fallback` when absent; refuses non-numeric text. */
export function numAttr(el: XmlElement, name: string, ctx: CompileContext, fallback: number): number;
export function numAttr(el: XmlElement, name: string, ctx: CompileContext, fallback?: number): number | undefined;
export function numAttr(el: XmlElement, name: string, ctx: CompileContext, fallback?: number): number | undefined {
  const text = attr(el, name);
  if (text === undefined) return fallback;
  const n = Number(text.trim());
  if (text.trim() === '' || Number.isNaN(n)) ctx.invalid(el, `attribute ${name}="${text}" is not a number`);
  return n;
}

/** A numeric attribute that must be present. */
export function reqNum(el: XmlElement, name: string, ctx: CompileContext): number {
  const n = numAttr(el, name, ctx);
  if (n === undefined) ctx.invalid(el, `attribute ${name} is required`);
  return n;
}

/** A text attribute that must be present. */
export function reqAttr(el: XmlElement, name: string, ctx: CompileContext): string {
  const v = attr(el, name);
  if (v === undefined) ctx.invalid(el, `attribute ${name} is required`);
  return v;
}

/** The one required child element. */
export function reqChild(el: XmlElement, name: string, ctx: CompileContext): XmlElement {
  const c = child(el, name);
  if (!c) ctx.invalid(el, `element ${name} is required`);
  return c;
}

/** Tokens of an `Array` element's text: whitespace-separated, with "double quoted" entries (\" escapes a quote). */
export function arrayTokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') { i++; continue; }
    if (ch === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && text[i + 1] === '"') { s += '"'; i += 2; continue; }
        s += text[i]!;
        i++;
      }
      i++;
      out.push(s);
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!)) j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

/** A numeric `Array` (type real/int), `REAL-SparseArray` or `INT-SparseArray` element as a Float64Array. */
export function numericArray(el: XmlElement, ctx: CompileContext): Float64Array {
  if (el.name === 'Array') {
    const tokens = arrayTokens(el.text);
    const out = new Float64Array(tokens.length);
    tokens.forEach((t, i) => {
      const n = Number(t);
      if (Number.isNaN(n)) ctx.invalid(el, `"${t}" is not a number`);
      out[i] = n;
    });
    const n = numAttr(el, 'n', ctx);
    if (n !== undefined && n !== out.length) ctx.invalid(el, `n="${n}" but ${out.length} entries`);
    return out;
  }
  if (el.name === 'REAL-SparseArray' || el.name === 'INT-SparseArray') {
    const n = reqNum(el, 'n', ctx);
    const out = new Float64Array(n).fill(numAttr(el, 'defaultValue', ctx, 0));
    const idx = child(el, 'Indices');
    const ent = child(el, el.name === 'INT-SparseArray' ? 'INT-Entries' : 'REAL-Entries');
    const indices = idx ? arrayTokens(idx.text).map(Number) : [];
    const entries = ent ? arrayTokens(ent.text).map(Number) : [];
    if (indices.length !== entries.length) ctx.invalid(el, 'Indices and Entries differ in length');
    indices.forEach((k, i) => {
      if (!Number.isInteger(k) || k < 1 || k > n) ctx.invalid(el, `index ${k} is outside 1..${n}`);
      out[k - 1] = entries[i]!;
    });
    return out;
  }
  return ctx.unsupported(el, 'array type');
}

/** The first numeric array child of `el` (Array, REAL-SparseArray or INT-SparseArray). */
export function childArray(el: XmlElement, ctx: CompileContext): Float64Array {
  const a = el.children.find((c) => c.name === 'Array' || c.name === 'REAL-SparseArray' || c.name === 'INT-SparseArray');
  if (!a) ctx.invalid(el, 'an Array is required');
  return numericArray(a, ctx);
}

/** A value as a lookup key: categories compare by their canonical text (2 and "2" and "2.0" of a double field agree). */
export function keyOf(v: Value): string {
  return typeof v === 'string' ? v : String(v);
}

/** Category text of an attribute as the key the row's value of `field` will have. */
export function categoryKey(ctx: CompileContext, field: string | undefined, text: string): string {
  if (field && ctx.field(field)) return keyOf(ctx.parse(field, text));
  return text;
}

/**
 * Converts category labels (attribute text) to values of the target field's type, memoised: the conversions
 * happen at compile time for the labels a kernel knows, so scoring only looks them up.
 */
export function labelTyper(ctx: CompileContext, target: string | undefined, labels: readonly string[] = []): (label: string) => Value {
  const cache = new Map<string, Value>();
  const convert = (label: string): Value => (target !== undefined && ctx.field(target) ? ctx.parse(target, label) : label);
  for (const l of labels) cache.set(l, convert(l));
  return (label) => {
    let v = cache.get(label);
    if (v === undefined) { v = convert(label); cache.set(label, v); }
    return v;
  };
}

/** A value as a number, or null when missing/not numeric. */
export function toNum(v: Value): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  return v.trim() === '' || Number.isNaN(n) ? null : n;
}

/** Convert a kernel-computed output value to an OutputField's declared dataType (numbers ↔ text). */
export function castTo(dataType: string | undefined, v: Value): Value {
  if (v === null || dataType === undefined) return v;
  switch (dataType) {
    case 'string': return typeof v === 'string' ? v : String(v);
    case 'double': case 'float': case 'integer': {
      const n = toNum(v);
      return n === null ? (typeof v === 'string' ? v : null) : dataType === 'integer' ? Math.trunc(n) : n;
    }
    case 'boolean': return typeof v === 'boolean' ? v : v === 'true' || v === 1;
    default: return v;
  }
}

/** Index of the largest value (first on ties); -1 for an empty list. */
export function argMax(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) if (best < 0 || values[i]! > values[best]!) best = i;
  return best;
}

// ---------------------------------------------------------------------------------------------
// ComparisonMeasure

/** One compared field: its compare function and weight. */
export interface MeasureField {
  readonly compareFunction: string;
  readonly weight: number;
  readonly similarityScale: number | undefined;
}

/** A compiled ComparisonMeasure over numeric vectors (NaN = missing input). */
export interface Measure {
  readonly kind: 'distance' | 'similarity';
  /**
   * x: the row; y (from `offset`): the reference (cluster centre or training instance). Missing (NaN) x entries
   * are left out and the sum is scaled by Σq / Σq(present), q = MissingValueWeights.
   */
  readonly compare: (x: Float64Array, y: Float64Array, offset?: number) => number;
  /** True when `a` ranks better than `b` (smaller distance, larger similarity). */
  readonly better: (a: number, b: number) => boolean;
}

const DISTANCES = new Set(['euclidean', 'squaredEuclidean', 'chebychev', 'cityBlock', 'minkowski']);
const COMPARE_FUNCTIONS = new Set(['absDiff', 'gaussSim', 'delta', 'equal']);

/**
 * Compile a ComparisonMeasure. `fields` carry each compared field's compareFunction (already defaulted
 * to the measure's) and weight; `missingWeights` are ClusteringModel's MissingValueWeights (default 1).
 */
export function compileMeasure(el: XmlElement, fields: readonly MeasureField[], missingWeights: Float64Array | undefined, ctx: CompileContext): Measure {
  const kind = attr(el, 'kind');
  if (kind !== 'distance' && kind !== 'similarity') return ctx.invalid(el, `kind="${kind ?? ''}" must be distance or similarity`);
  const m = el.children.find((c) => c.name !== 'Extension');
  if (!m) return ctx.invalid(el, 'a measure element is required');
  for (const f of fields) {
    if (!COMPARE_FUNCTIONS.has(f.compareFunction)) ctx.unsupported(el, `compareFunction="${f.compareFunction}"`);
    if (f.compareFunction === 'gaussSim' && f.similarityScale === undefined) ctx.invalid(el, 'gaussSim needs similarityScale');
  }
  const compileSimilarity = SIMILARITY_MEASURES[m.name];
  if (compileSimilarity) return compileSimilarity(m, kind, fields, ctx);
  if (!DISTANCES.has(m.name)) return ctx.unsupported(m, 'comparison measure');
  const p = m.name === 'minkowski' ? reqNum(m, 'p-parameter', ctx) : 2;
  const n = fields.length;
  const cf = fields.map((f) => f.compareFunction);
  const w = Float64Array.from(fields, (f) => f.weight);
  const s = Float64Array.from(fields, (f) => f.similarityScale ?? 1);
  const q = missingWeights ?? new Float64Array(n).fill(1);
  let qSum = 0;
  for (let i = 0; i < n; i++) qSum += q[i]!;
  const cmp = (i: number, a: number, b: number): number => {
    switch (cf[i]) {
      case 'absDiff': return Math.abs(a - b);
      case 'gaussSim': { const d = a - b; return Math.exp(-Math.LN2 * d * d / (s[i]! * s[i]!)); }
      case 'delta': return a === b ? 0 : 1;
      default: return a === b ? 1 : 0; // equal
    }
  };
  const name = m.name;
  return {
    kind,
    better: kind === 'distance' ? (a, b) => a < b : (a, b) => a > b,
    compare(x, y, offset = 0) {
      let acc = 0;
      let present = 0;
      for (let i = 0; i < n; i++) {
        const xi = x[i]!;
        if (Number.isNaN(xi)) continue;
        present += q[i]!;
        const c = cmp(i, xi, y[offset + i]!);
        switch (name) {
          case 'euclidean': case 'squaredEuclidean': acc += w[i]! * c * c; break;
          case 'cityBlock': acc += w[i]! * Math.abs(c); break;
          case 'chebychev': acc = Math.max(acc, w[i]! * Math.abs(c)); break;
          default: acc += w[i]! * Math.pow(Math.abs(c), p);
        }
      }
      if (present === 0) return NaN;
      if (name !== 'chebychev' && present !== qSum) acc *= qSum / present;
      switch (name) {
        case 'euclidean': return Math.sqrt(acc);
        case 'minkowski': return Math.pow(acc, 1 / p);
        default: return acc;
      }
    },
  };
}

/**
 * Similarity measures over binary vectors, by element name, one entry a line: an exported package
 * keeps the measures its document names (src/edge/narrowing.ts).
 */
const SIMILARITY_MEASURES: Readonly<Record<string, typeof similarity>> = {
  simpleMatching: similarity,
  jaccard: similarity,
  tanimoto: similarity,
  binarySimilarity: similarity,
};

function similarity(m: XmlElement, kind: 'distance' | 'similarity', fields: readonly MeasureField[], ctx: CompileContext): Measure {
  const n = fields.length;
  let c = [0, 0, 0, 0];
  let d = [0, 0, 0, 0];
  if (m.name === 'binarySimilarity') {
    c = ['c11-parameter', 'c10-parameter', 'c01-parameter', 'c00-parameter'].map((a) => reqNum(m, a, ctx));
    d = ['d11-parameter', 'd10-parameter', 'd01-parameter', 'd00-parameter'].map((a) => reqNum(m, a, ctx));
  }
  const name = m.name;
  return {
    kind,
    better: kind === 'distance' ? (a, b) => a < b : (a, b) => a > b,
    compare(x, y, offset = 0) {
      let a11 = 0, a10 = 0, a01 = 0, a00 = 0;
      for (let i = 0; i < n; i++) {
        const xi = x[i]!;
        if (Number.isNaN(xi)) continue;
        const bx = xi !== 0, by = y[offset + i]! !== 0;
        if (bx && by) a11++; else if (bx) a10++; else if (by) a01++; else a00++;
      }
      switch (name) {
        case 'simpleMatching': return (a11 + a00) / (a11 + a10 + a01 + a00);
        case 'jaccard': return a11 / (a11 + a10 + a01);
        case 'tanimoto': return (a11 + a00) / (a11 + 2 * (a10 + a01) + a00);
        default: return (c[0]! * a11 + c[1]! * a10 + c[2]! * a01 + c[3]! * a00) / (d[0]! * a11 + d[1]! * a10 + d[2]! * a01 + d[3]! * a00);
      }
    },
  };
}

/** `children(el, name)` that refuses an empty list. */
export function reqChildren(el: XmlElement, name: string, ctx: CompileContext): XmlElement[] {
  const list = children(el, name);
  if (list.length === 0) ctx.invalid(el, `at least one ${name} is required`);
  return list;
}

/** Stable ranking of indices by a score, best first. */
export function rank(scores: Float64Array, better: (a: number, b: number) => boolean): number[] {
  const idx = Array.from(scores, (_, i) => i);
  idx.sort((i, j) => {
    const a = scores[i]!, b = scores[j]!;
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? i - j : 1) : -1;
    if (better(a, b)) return -1;
    if (better(b, a)) return 1;
    return i - j;
  });
  return idx;
}
