/**
 * A compiled XGBoost model in the neutral form of model-structure.ts: the runtime's own arrays
 * (children side by side: right = left + 1), covers from `sum_hessian`, dart weights as per-tree
 * scales, and routing by the same decisions as computeMargins.
 */
import type { Link, ModelStructure, TreeStructure } from '../model-structure.js';
import { treeDepth } from '../model-structure.js';
import { computeMargins, type CompiledModel, type Forest } from './xgboost-model.js';

function linkOf(m: CompiledModel): Link {
  switch (m.transform) {
    case 'sigmoid': return { kind: 'sigmoid', scale: 1 };
    case 'softmax': return { kind: 'softmax' };
    case 'exp': return { kind: 'exp' };
    default: return { kind: 'identity' };
  }
}

function marginsOf(m: CompiledModel): (x: Float64Array, rows: number) => Float64Array {
  return (x, rows) => Float64Array.from(computeMargins(m, Float32Array.from(x), rows));
}

/** The structure of a compiled model; undefined for trees saved without `sum_hessian`. */
export function xgboostStructure(m: CompiledModel): ModelStructure | undefined {
  const model = m.model;
  if (model.type === 'linear') {
    return {
      kind: 'linear',
      numFeature: m.numFeature,
      numGroup: m.numGroup,
      weights: Float64Array.from(model.weights),
      bias: Float64Array.from(model.bias, (b) => b + m.baseMargin),
      link: linkOf(m),
      missingAs: 'zero',
      margins: marginsOf(m),
    };
  }
  if (!model.cover) return undefined;
  return forestStructure(m, model, model.cover);
}

function forestStructure(m: CompiledModel, forest: Forest, cover: Float64Array): TreeStructure {
  const { roots, groups, feature, value, kid, missing, categorical } = forest;
  const right = new Int32Array(kid.length);
  for (let n = 0; n < kid.length; n++) right[n] = feature[n]! < 0 ? 0 : kid[n]! + 1;
  const scale = new Float64Array(roots.length).fill(1);
  if (forest.weights) for (let t = 0; t < roots.length; t++) scale[t] = forest.weights[t]!;
  const nodes = feature.length;
  // x arrives as doubles; xgboost compares float32 values, so round first as its DMatrix does.
  const route = categorical
    ? (x: Float64Array, offset: number, goesLeft: Uint8Array): void => {
      const { start, words, bits } = categorical;
      for (let n = 0; n < nodes; n++) {
        const f = feature[n]!;
        if (f < 0) continue;
        const v = Math.fround(x[offset + f]!);
        const w = words[n]!;
        let next: number;
        if (v !== v) next = missing[n]!;
        else if (w === 0) next = v < value[n]! ? kid[n]! : kid[n]! + 1;
        else if (v < 0 || v >= w * 32) next = kid[n]!;
        else {
          const c = Math.trunc(v);
          next = kid[n]! + ((bits[start[n]! + (c >>> 5)]! >>> (c & 31)) & 1);
        }
        goesLeft[n] = next === kid[n]! ? 1 : 0;
      }
    }
    : (x: Float64Array, offset: number, goesLeft: Uint8Array): void => {
      for (let n = 0; n < nodes; n++) {
        const f = feature[n]!;
        if (f < 0) continue;
        const v = Math.fround(x[offset + f]!);
        goesLeft[n] = v !== v ? (missing[n] === kid[n] ? 1 : 0) : v < value[n]! ? 1 : 0;
      }
    };
  return {
    kind: 'trees',
    numFeature: m.numFeature,
    numGroup: m.numGroup,
    base: new Float64Array(m.numGroup).fill(m.baseMargin),
    link: linkOf(m),
    roots,
    groups,
    scale,
    feature,
    left: kid,
    right,
    value,
    cover,
    maxDepth: treeDepth(roots, feature, kid, right),
    route,
    margins: marginsOf(m),
  };
}
