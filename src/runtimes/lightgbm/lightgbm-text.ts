/**
 * Reading LightGBM's text model (what `Booster.save_model` writes): the header, the objective
 * and each tree, checked as they are read, then compiled into the flat layout of
 * lightgbm-model.ts.
 */
import { MAX_INPUT_WIDTH } from '../model-runtime.js';
import { DECISION_CATEGORICAL, flatten, LgbmError, NODE_PLAIN, ZERO_THRESHOLD, type LgbmKind, type LgbmModel, type LgbmTransform, type TreeParts } from './lightgbm-model.js';

interface ObjectiveInfo {
  readonly kind: LgbmKind;
  readonly transform: LgbmTransform;
}

const REGRESSION: ObjectiveInfo = { kind: 'regression', transform: 'identity' };
const EXP: ObjectiveInfo = { kind: 'regression', transform: 'exp' };
const OBJECTIVES: Readonly<Record<string, ObjectiveInfo>> = {
  regression: REGRESSION,
  regression_l1: REGRESSION,
  huber: REGRESSION,
  fair: REGRESSION,
  quantile: REGRESSION,
  mape: REGRESSION,
  poisson: EXP,
  gamma: EXP,
  tweedie: EXP,
  binary: { kind: 'binary', transform: 'sigmoid' },
  cross_entropy: { kind: 'regression', transform: 'sigmoid' },
  multiclass: { kind: 'multiclass', transform: 'softmax' },
  multiclassova: { kind: 'multiclass', transform: 'sigmoid' },
  lambdarank: REGRESSION,
  rank_xendcg: REGRESSION,
};

// ---------------------------------------------------------------- parse

interface Block {
  readonly line: number;
  readonly values: Map<string, string>;
}

interface ParsedFile {
  readonly header: Map<string, string>;
  readonly flags: Set<string>;
  readonly trees: Block[];
}

/** Split the text into the header (before the first `Tree=`) and one block per tree, up to `end of trees`. */
function split(text: string): ParsedFile {
  const lines = text.split(/\r?\n/);
  if ((lines[0] ?? '').trim() !== 'tree') throw new LgbmError('the first line is not "tree" (a LightGBM text model starts with it)');
  const header = new Map<string, string>();
  const flags = new Set<string>();
  const trees: Block[] = [];
  let current: Map<string, string> = header;
  let ended = false;
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (line === 'end of trees') {
      ended = true;
      break;
    }
    const eq = line.indexOf('=');
    if (eq < 0) {
      if (current === header) flags.add(line);
      continue;
    }
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'Tree') {
      const index = Number(value);
      if (!Number.isInteger(index) || index !== trees.length) throw new LgbmError(`line ${i + 1}: "Tree=${value}" is out of order (expected Tree=${trees.length})`);
      current = new Map();
      trees.push({ line: i + 1, values: current });
      continue;
    }
    current.set(key, value);
  }
  if (!ended) throw new LgbmError('"end of trees" is missing: the file is truncated or not a complete LightGBM model');
  return { header, flags, trees };
}

function required(m: Map<string, string>, key: string, where: string): string {
  const v = m.get(key);
  if (v === undefined) throw new LgbmError(`${where}: "${key}" is missing`);
  return v;
}

function int(text: string, what: string, min = 0): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min) throw new LgbmError(`${what} must be an integer ≥ ${min} (got "${text.slice(0, 40)}")`);
  return n;
}

/** A whitespace-separated list of numbers (LightGBM writes `nan`/`inf` the C way, which are refused). */
function list(m: Map<string, string>, key: string, where: string, length: number, parse: (s: string) => number = Number): number[] {
  const text = m.get(key);
  if (text === undefined) {
    if (length === 0) return [];
    throw new LgbmError(`${where}: "${key}" is missing`);
  }
  const parts = text.trim() === '' ? [] : text.trim().split(/\s+/);
  if (parts.length !== length) throw new LgbmError(`${where}: "${key}" has ${parts.length} values, expected ${length}`);
  return parts.map((p, i) => {
    const n = parse(p);
    if (!Number.isFinite(n)) throw new LgbmError(`${where}: ${key}[${i}] = "${p}" is not a finite number`);
    return n;
  });
}

function objectiveOf(text: string | undefined, numClass: number): { name: string; info: ObjectiveInfo; sigmoid: number; sqrt: boolean } {
  if (text === undefined) throw new LgbmError('"objective" is missing (models trained with a custom objective have none; Ferry needs it to know the output transform)');
  const [name = '', ...params] = text.trim().split(/\s+/);
  const info = OBJECTIVES[name];
  if (!info) throw new LgbmError(`objective "${name}" is not supported (supported: ${Object.keys(OBJECTIVES).join(', ')})`);
  let sigmoid = 1;
  let sqrt = false;
  for (const p of params) {
    const [k, v] = p.split(':');
    if (k === 'sigmoid') {
      sigmoid = Number(v);
      if (!Number.isFinite(sigmoid) || sigmoid <= 0) throw new LgbmError(`objective parameter "${p}" must be a positive number`);
    } else if (k === 'num_class') {
      if (Number(v) !== numClass) throw new LgbmError(`objective says ${p} but the header says num_class=${numClass}`);
    } else if (k === 'sqrt') {
      sqrt = true;
    }
  }
  return { name, info: sqrt && info === REGRESSION ? { kind: 'regression', transform: 'square' } : info, sigmoid, sqrt };
}

// ---------------------------------------------------------------- compile

function parseTree(block: Block, t: number, numFeature: number): TreeParts {
  const at = `Tree=${t} (line ${block.line})`;
  const v = block.values;
  const numLeaves = int(required(v, 'num_leaves', at), `${at}: num_leaves`, 1);
  const numCat = v.has('num_cat') ? int(v.get('num_cat') ?? '', `${at}: num_cat`) : 0;
  const n = numLeaves - 1;
  const leafValue = list(v, 'leaf_value', at, numLeaves);
  const feature = list(v, 'split_feature', at, n);
  const threshold = list(v, 'threshold', at, n);
  const decision = v.has('decision_type') ? list(v, 'decision_type', at, n) : new Array<number>(n).fill(0);
  const left = list(v, 'left_child', at, n);
  const right = list(v, 'right_child', at, n);
  const catBoundaries = numCat > 0 ? list(v, 'cat_boundaries', at, numCat + 1) : [0];
  const words = catBoundaries[catBoundaries.length - 1] ?? 0;
  const catThreshold = numCat > 0 ? list(v, 'cat_threshold', at, words) : [];
  for (let i = 0; i < catBoundaries.length - 1; i++) {
    if (!((catBoundaries[i] ?? 0) <= (catBoundaries[i + 1] ?? 0)) || catBoundaries[0] !== 0) throw new LgbmError(`${at}: cat_boundaries must start at 0 and not decrease`);
  }
  for (const w of catThreshold) if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new LgbmError(`${at}: cat_threshold holds ${w}, not a 32-bit word`);

  // Every node and every leaf reached from the root exactly once, so evaluation ends.
  if (n > 0) {
    const seenNode = new Uint8Array(n);
    const seenLeaf = new Uint8Array(numLeaves);
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop() ?? 0;
      if (seenNode[i]) throw new LgbmError(`${at}: node ${i} is reached twice (the tree is not a tree)`);
      seenNode[i] = 1;
      const f = feature[i] ?? -1;
      if (!Number.isInteger(f) || f < 0 || f >= numFeature) throw new LgbmError(`${at}: node ${i} splits on feature ${f}, but the model has ${numFeature} features (max_feature_idx=${numFeature - 1})`);
      const d = decision[i] ?? 0;
      if (!Number.isInteger(d) || d < 0 || d > 127 || ((d >> 2) & 3) === 3) throw new LgbmError(`${at}: decision_type[${i}] = ${d} is not a valid decision type`);
      if (d & DECISION_CATEGORICAL) {
        const c = threshold[i] ?? -1;
        if (!Number.isInteger(c) || c < 0 || c >= numCat) throw new LgbmError(`${at}: categorical node ${i} names category set ${c}, but the tree has num_cat=${numCat}`);
      }
      for (const child of [left[i] ?? 0, right[i] ?? 0]) {
        if (!Number.isInteger(child)) throw new LgbmError(`${at}: node ${i} has a non-integer child`);
        if (child >= 0) {
          if (child >= n) throw new LgbmError(`${at}: node ${i} has child ${child} outside 0..${n - 1}`);
          stack.push(child);
        } else {
          const leaf = ~child;
          if (leaf >= numLeaves) throw new LgbmError(`${at}: node ${i} points to leaf ${leaf}, but the tree has ${numLeaves} leaves`);
          if (seenLeaf[leaf]) throw new LgbmError(`${at}: leaf ${leaf} is reached twice`);
          seenLeaf[leaf] = 1;
        }
      }
    }
  }

  let linear: TreeParts['linear'];
  if (v.get('is_linear') === '1') {
    const consts = list(v, 'leaf_const', at, numLeaves);
    const counts = list(v, 'num_features', at, numLeaves);
    const total = counts.reduce((a, b) => a + b, 0);
    const features = list(v, 'leaf_features', at, total);
    const coeffs = list(v, 'leaf_coeff', at, total);
    for (const f of features) if (!Number.isInteger(f) || f < 0 || f >= numFeature) throw new LgbmError(`${at}: a linear leaf uses feature ${f}, but the model has ${numFeature} features`);
    linear = { consts, counts, features, coeffs };
  } else if (v.has('is_linear') && v.get('is_linear') !== '0') {
    throw new LgbmError(`${at}: is_linear must be 0 or 1`);
  }
  const counts = v.has('leaf_count') && (n === 0 || v.has('internal_count'))
    ? { internal: list(v, 'internal_count', at, n), leaf: list(v, 'leaf_count', at, numLeaves) }
    : undefined;
  return { numLeaves, numCat, feature, threshold, decision, left, right, leafValue, catBoundaries, catThreshold, linear, counts };
}

/** Parse and compile a LightGBM text model. */
export function compileLightgbm(text: string): LgbmModel {
  const { header, flags, trees } = split(text);
  const version = header.get('version') ?? 'v2';
  const numClass = int(required(header, 'num_class', 'header'), 'num_class', 1);
  const perIteration = int(header.get('num_tree_per_iteration') ?? String(numClass), 'num_tree_per_iteration', 1);
  const numFeature = int(required(header, 'max_feature_idx', 'header'), 'max_feature_idx') + 1;
  if (numFeature > MAX_INPUT_WIDTH) throw new LgbmError(`max_feature_idx is ${numFeature - 1}, more input columns than Ferry serves (${MAX_INPUT_WIDTH}); re-save the model with its real number of features`);
  const { name, info, sigmoid } = objectiveOf(header.get('objective'), numClass);
  if ((info.kind === 'multiclass') !== perIteration > 1) throw new LgbmError(`objective "${name}" does not fit num_tree_per_iteration=${perIteration}`);
  if (trees.length === 0) throw new LgbmError('the model has no trees');
  if (trees.length % perIteration !== 0) throw new LgbmError(`${trees.length} trees is not a whole number of iterations of ${perIteration} trees`);

  const names = (header.get('feature_names') ?? '').trim().split(/\s+/).filter((s) => s !== '');
  const featureNames = names.length === 0 ? Array.from({ length: numFeature }, (_, i) => `Column_${i}`) : names;
  if (featureNames.length !== numFeature) throw new LgbmError(`feature_names has ${featureNames.length} names for ${numFeature} features`);
  if (new Set(featureNames).size !== featureNames.length) throw new LgbmError('feature_names holds duplicate names');

  const parts = trees.map((b, t) => parseTree(b, t, numFeature));
  const forest = flatten(parts, perIteration);
  let simple = !parts.some((p) => p.linear);
  for (let n = 0; n < forest.feature.length && simple; n++) {
    if (forest.feature[n]! < 0) continue;
    const v = forest.value[n]!;
    if (forest.kind[n] !== NODE_PLAIN || (v >= -ZERO_THRESHOLD && v < ZERO_THRESHOLD)) simple = false;
  }
  return {
    version,
    objective: name,
    kind: info.kind,
    transform: info.transform,
    sigmoid,
    numFeature,
    numClass: perIteration,
    averageOutput: flags.has('average_output'),
    iterations: trees.length / perIteration,
    featureNames,
    forest,
    simple,
  };
}
