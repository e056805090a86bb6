/**
 * scikit-learn's tree estimators to the document's tree ensemble: DecisionTree*, ExtraTree*,
 * RandomForest*, ExtraTrees*, GradientBoosting* (from sklearn.tree._tree.Tree node records)
 * and HistGradientBoosting* (from its TreePredictor records).
 */
import { Estimator, EstimatorError } from '../attrs.js';
import type { DocValue } from '../document.js';
import { NdArray, PyObject, itemsOf, kindOf, type PyValue } from '../pickle/values.js';

/**
 * Node arrays of one or more trees, concatenated into typed arrays that grow by doubling (a
 * 100-tree forest has ~180 000 nodes); `start[t]` is tree t's first node.
 */
export class TreeNodes {
  readonly start: number[] = [];
  length = 0;
  left = new Int32Array(1024);
  right = new Int32Array(1024);
  feature = new Int32Array(1024);
  threshold = new Float64Array(1024);
  /** Per node: the (weighted) training samples that reached it — TreeSHAP's cover. */
  cover = new Float64Array(1024);
  /** Per node: 1 when a missing value goes left (HistGradientBoosting), else 0. */
  missingLeft = new Int32Array(1024);
  /** Per node: index of its category bitset in `catBits` (8 words each), or -1 for a numerical split. */
  catIndex = new Int32Array(1024);
  /** Per node: `width` values (class counts, or a regression value). */
  value = new Float64Array(1024);
  readonly catBits: number[] = [];

  /** Room for `n` more nodes of `width` values each; returns the first new node's index. */
  reserve(n: number, width: number): number {
    const need = this.length + n;
    if (need > this.left.length) {
      const size = Math.max(need, this.left.length * 2);
      const grow = <A extends Int32Array | Float64Array>(a: A, per: number): A => {
        const b = new (a.constructor as new (n: number) => A)(size * per);
        b.set(a.subarray(0, this.length * per));
        return b;
      };
      this.left = grow(this.left, 1);
      this.right = grow(this.right, 1);
      this.feature = grow(this.feature, 1);
      this.threshold = grow(this.threshold, 1);
      this.cover = grow(this.cover, 1);
      this.missingLeft = grow(this.missingLeft, 1);
      this.catIndex = grow(this.catIndex, 1);
    }
    if (need * width > this.value.length) {
      const b = new Float64Array(Math.max(need * width, this.value.length * 2));
      b.set(this.value);
      this.value = b;
    }
    const first = this.length;
    this.start.push(first);
    this.length = need;
    return first;
  }
}

export function emptyNodes(): TreeNodes {
  return new TreeNodes();
}

/** The nodes as document arrays. */
export function nodesDoc(n: TreeNodes, width: number): Record<string, DocValue> {
  const len = n.length;
  return {
    trees: n.start.length,
    width,
    start: Int32Array.from([...n.start, len]),
    left: n.left.slice(0, len),
    right: n.right.slice(0, len),
    feature: n.feature.slice(0, len),
    threshold: n.threshold.slice(0, len),
    cover: n.cover.slice(0, len),
    value: n.value.slice(0, len * width),
    missingLeft: n.missingLeft.slice(0, len),
    catIndex: n.catIndex.slice(0, len),
    catBits: Int32Array.from(n.catBits),
  };
}

/** A structured (record) array's numeric field, as a reader of record i. */
function fieldReader(a: NdArray, what: string): (field: string) => (i: number) => number {
  const fields = a.dtype.fields;
  if (!fields || !(a.data instanceof Uint8Array)) throw new EstimatorError(`${what} is not a structured array of node records`);
  const bytes = a.data;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = a.dtype.itemsize;
  const aligned = bytes.byteOffset % 8 === 0 && size % 8 === 0;
  const i32 = aligned ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2) : undefined;
  const f64 = aligned ? new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3) : undefined;
  return (field) => {
    const f = fields.get(field);
    if (!f) throw new EstimatorError(`${what} has no field "${field}"`);
    const { kind, itemsize, byteorder } = f.dtype;
    const le = byteorder !== '>';
    const at = f.offset;
    // Fast paths for scikit-learn's own records (little-endian, 8-byte aligned fields).
    if (le && i32 && f64 && at % 8 === 0) {
      const stride = size >> 3;
      const base = at >> 3;
      if (kind === 'f' && itemsize === 8) return (i) => f64[i * stride + base]!;
      // int64 node indices and features fit in 32 bits; the high word is checked by the verifier's range tests.
      if (kind === 'i' && itemsize === 8) return (i) => (i32[(i * stride + base) * 2 + 1]! === (i32[(i * stride + base) * 2]! < 0 ? -1 : 0) ? i32[(i * stride + base) * 2]! : Number.NaN);
    }
    if (kind === 'f' && itemsize === 8) return (i) => view.getFloat64(i * size + at, le);
    if (kind === 'f' && itemsize === 4) return (i) => view.getFloat32(i * size + at, le);
    if (kind === 'i' && itemsize === 8) return (i) => Number(view.getBigInt64(i * size + at, le));
    if (kind === 'i' && itemsize === 4) return (i) => view.getInt32(i * size + at, le);
    if (kind === 'u' && itemsize === 8) return (i) => Number(view.getBigUint64(i * size + at, le));
    if (kind === 'u' && itemsize === 4) return (i) => view.getUint32(i * size + at, le);
    if ((kind === 'u' || kind === 'b') && itemsize === 1) return (i) => view.getUint8(i * size + at);
    throw new EstimatorError(`${what}: field "${field}" has dtype ${f.dtype.str}, not a number`);
  };
}

/**
 * Append one sklearn.tree._tree.Tree. `width` values per node are taken from `values`
 * (node_count × n_outputs × max_n_classes; only single-output trees).
 */
export function appendTree(est: Estimator, out: TreeNodes, width: number): void {
  const tree = est.raw('tree_');
  if (!(tree instanceof PyObject) || tree.cls.qualname !== 'sklearn.tree._tree.Tree') est.fail(`tree_ is ${kindOf(tree)}, expected sklearn.tree._tree.Tree`);
  const nOutputs = tree.args[2];
  if (nOutputs !== 1) est.unsupported(`multi-output trees (n_outputs=${typeof nOutputs === 'number' ? nOutputs : kindOf(nOutputs)}) are not supported`);
  const state = tree.state instanceof Map ? tree.state : undefined;
  const nodes = state?.get('nodes');
  const values = state?.get('values');
  if (!(nodes instanceof NdArray) || !(values instanceof NdArray) || !(values.data instanceof Float64Array)) est.fail('tree_ has no node records or values');
  const n = nodes.size;
  const [vn, vo, vk] = values.shape;
  if (values.shape.length !== 3 || vn !== n || vo !== 1 || vk === undefined || vk < width) est.fail(`tree_.values has shape [${values.shape.join(', ')}], expected [${n}, 1, ≥${width}]`);
  const field = fieldReader(nodes, `${est.step}: tree_.nodes`);
  const [left, right, feature, threshold, cover] = ['left_child', 'right_child', 'feature', 'threshold', 'weighted_n_node_samples'].map(field) as [(i: number) => number, (i: number) => number, (i: number) => number, (i: number) => number, (i: number) => number];
  const at = out.reserve(n, width);
  const vals = values.data;
  for (let i = 0; i < n; i++) {
    const o = at + i;
    const l = left(i);
    const r = right(i);
    const f = feature(i);
    // int64 fields past 32 bits read as NaN: refused here rather than stored as 0.
    if ((l | 0) !== l || (r | 0) !== r || (f | 0) !== f) est.fail(`tree_.nodes[${i}] has a child or feature index outside 32 bits`);
    out.left[o] = l;
    out.right[o] = r;
    out.feature[o] = f;
    out.threshold[o] = threshold(i);
    out.cover[o] = cover(i);
    out.missingLeft[o] = 0;
    out.catIndex[o] = -1;
    for (let k = 0; k < width; k++) out.value[o * width + k] = vals[i * vk + k]!;
  }
}

/** HistGradientBoosting's TreePredictor: node records with value, feature_idx, num_threshold, missing_go_to_left, left, right, is_leaf, count, is_categorical, bitset_idx. */
export function appendPredictor(owner: Estimator, predictor: PyValue, out: TreeNodes, at: string): void {
  if (!(predictor instanceof PyObject)) owner.fail(`${at} is ${kindOf(predictor)}, expected a TreePredictor`);
  const p = new Estimator(predictor, at);
  const nodes = p.array('nodes');
  const field = fieldReader(nodes, `${at}.nodes`);
  const fields = new Map<string, (i: number) => number>();
  const read = (name: string, i: number): number => {
    let f = fields.get(name);
    if (!f) fields.set(name, (f = field(name)));
    return f(i);
  };
  const raw = p.optArray('raw_left_cat_bitsets');
  const bitsetBase = out.catBits.length / 8;
  if (raw && raw.size > 0) {
    if (!(raw.data instanceof Uint32Array) || raw.shape[1] !== 8) p.fail('raw_left_cat_bitsets is not a [n, 8] uint32 array');
    for (const w of raw.data as Uint32Array) out.catBits.push(w | 0);
  }
  const first = out.reserve(nodes.size, 1);
  for (let i = 0; i < nodes.size; i++) {
    const o = first + i;
    const leaf = read('is_leaf', i) !== 0;
    out.left[o] = leaf ? -1 : read('left', i);
    out.right[o] = leaf ? -1 : read('right', i);
    out.feature[o] = leaf ? -2 : read('feature_idx', i);
    out.threshold[o] = leaf ? 0 : read('num_threshold', i);
    out.cover[o] = read('count', i);
    out.value[o] = read('value', i);
    out.missingLeft[o] = read('missing_go_to_left', i);
    out.catIndex[o] = !leaf && read('is_categorical', i) !== 0 ? bitsetBase + read('bitset_idx', i) : -1;
  }
}

/** The estimators of a forest or boosting model, each with its place in the pipeline. */
export function subEstimators(est: Estimator, key: string): Estimator[] {
  const v = est.raw(key);
  const list = v instanceof NdArray && Array.isArray(v.data) ? v.data : itemsOf(v ?? null);
  if (!list || list.length === 0) est.fail(`${key} is ${kindOf(v)}, expected a non-empty list of fitted trees`);
  return list.map((e, i) => {
    if (!(e instanceof PyObject)) est.fail(`${key}[${i}] is ${kindOf(e)}`);
    return new Estimator(e, `${est.step}/${key}[${i}]`);
  });
}
