/**
 * A compiled LightGBM model in the neutral form of model-structure.ts: covers from
 * `internal_count`/`leaf_count`, averaged forests as a per-tree scale of 1/iterations, routing by
 * the runtime's own decisions (nextNode). Linear-tree models have no such form (a leaf's value
 * depends on the row), nor do files without counts.
 */
import type { Link, TreeStructure } from '../model-structure.js';
import { treeDepth } from '../model-structure.js';
import { nextNode, rawScores, ZERO_THRESHOLD, type LgbmModel } from './lightgbm-model.js';

function linkOf(m: LgbmModel): Link {
  switch (m.transform) {
    case 'sigmoid': return { kind: 'sigmoid', scale: m.sigmoid };
    case 'softmax': return { kind: 'softmax' };
    case 'exp': return { kind: 'exp' };
    default: return { kind: 'identity' };
  }
}

export function lightgbmStructure(m: LgbmModel): TreeStructure | undefined {
  const f = m.forest;
  if (!f.cover || f.linCount.some((c) => c >= 0)) return undefined;
  const { roots, classes, feature, kid } = f;
  const nodes = feature.length;
  const right = new Int32Array(nodes);
  for (let n = 0; n < nodes; n++) right[n] = feature[n]! < 0 ? 0 : kid[n]! + 1;
  // Leaves keep their kid as an index into the linear-leaf arrays; a leaf is told by feature −1 alone.
  const scale = new Float64Array(roots.length).fill(m.averageOutput ? 1 / m.iterations : 1);
  return {
    kind: 'trees',
    numFeature: m.numFeature,
    numGroup: m.numClass,
    base: new Float64Array(m.numClass),
    link: linkOf(m),
    roots,
    groups: classes,
    scale,
    feature,
    left: kid,
    right,
    value: f.value,
    cover: f.cover,
    maxDepth: treeDepth(roots, feature, kid, right),
    route(x: Float64Array, offset: number, goesLeft: Uint8Array): void {
      for (let n = 0; n < nodes; n++) {
        const j = feature[n]!;
        if (j < 0) continue;
        const raw = x[offset + j]!;
        const v = raw >= -ZERO_THRESHOLD && raw <= ZERO_THRESHOLD ? 0 : raw;
        goesLeft[n] = nextNode(f, n, v) === kid[n] ? 1 : 0;
      }
    },
    margins: (x, rows) => rawScores(m, x, rows),
  };
}
