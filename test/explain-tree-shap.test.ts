/**
 * The two TreeSHAP algorithms (leaf tables, O(leaves · depth) per row, and the path algorithm,
 * O(leaves · depth²)) on generated trees: repeated features on a path, children without cover,
 * paths past the tables' depth limit, several outputs. Both equal brute-force Shapley values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DISTINCT } from '../src/explain/leaf-tables.js';
import { TreeShap } from '../src/explain/tree-shap.js';
import type { TreeStructure } from '../src/runtimes/model-structure.js';
import { treeDepth } from '../src/runtimes/model-structure.js';
import { bruteForceShapley } from './helpers/shapley.js';
import { mulberry32 } from '../src/core/random.js';

/** A deterministic generator. */
const rng = mulberry32;

/** Trees over `features` inputs; `chain` makes tree 0 a path of depth 11 over distinct features. */
function forest(seed: number, features: number, trees: number, depth: number, groups: number, chain: boolean): TreeStructure {
  const rand = rng(seed);
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const node = (d: number, c: number, forced?: number): number => {
    const n = feature.length;
    feature.push(-1); threshold.push(0); left.push(-1); right.push(-1); value.push(rand() * 2 - 1); cover.push(c);
    const split = forced !== undefined ? forced < features : d < depth && rand() < 0.85;
    if (!split) return n;
    feature[n] = forced ?? Math.floor(rand() * features);
    threshold[n] = rand();
    // Now and then a child without cover (a split the training data never took).
    const share = rand() < 0.1 ? 0 : rand() < 0.1 ? 1 : rand();
    const lc = Math.round(c * share);
    left[n] = node(d + 1, lc, forced !== undefined ? forced + 1 : undefined);
    right[n] = node(d + 1, c - lc);
    return n;
  };
  const roots: number[] = [];
  for (let t = 0; t < trees; t++) roots.push(node(0, 1000, chain && t === 0 ? 0 : undefined));
  const f = Int32Array.from(feature);
  const l = Int32Array.from(left);
  const r = Int32Array.from(right);
  const rootArr = Int32Array.from(roots);
  return {
    kind: 'trees', numFeature: features, numGroup: groups, base: Float64Array.from({ length: groups }, (_, g) => g / 10),
    link: { kind: 'identity' }, roots: rootArr, groups: Int32Array.from(roots, (_, t) => t % groups),
    scale: Float64Array.from(roots, (_, t) => (t % 3 === 2 ? 0.5 : 1)), feature: f, left: l, right: r,
    value: Float64Array.from(value), cover: Float64Array.from(cover), maxDepth: treeDepth(rootArr, f, l, r),
    route(x, offset, goesLeft) {
      for (let n = 0; n < f.length; n++) {
        if (f[n]! < 0) continue;
        const v = x[offset + f[n]!]!;
        goesLeft[n] = Number.isNaN(v) || v < threshold[n]! ? 1 : 0;
      }
    },
    margins: () => new Float64Array(0),
  };
}

function rows(seed: number, n: number, features: number): Float64Array {
  const rand = rng(seed);
  return Float64Array.from({ length: n * features }, () => (rand() < 0.05 ? Number.NaN : rand()));
}

describe('TreeSHAP: leaf tables and paths against brute force', () => {
  const cases = [
    { name: 'shallow, many repeats', seed: 1, features: 4, trees: 12, depth: 6, groups: 1, chain: false },
    { name: 'three outputs', seed: 2, features: 8, trees: 15, depth: 5, groups: 3, chain: false },
    { name: `a path of ${MAX_DISTINCT + 1} distinct features (tables refused for that tree)`, seed: 3, features: 11, trees: 6, depth: 4, groups: 1, chain: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = forest(c.seed, c.features, c.trees, c.depth, c.groups, c.chain);
      const n = 8;
      const x = rows(c.seed + 100, n, c.features);
      const width = n * c.groups * c.features;
      const tables = new Float64Array(width);
      const paths = new Float64Array(width);
      const fast = new TreeShap(s);
      fast.explain(x, n, tables);
      new TreeShap(s, 0).explain(x, n, paths);
      for (let r = 0; r < n; r++) {
        const { phi, base } = bruteForceShapley(s, x, r);
        for (let g = 0; g < c.groups; g++) {
          assert.ok(Math.abs(fast.expected[g]! - base[g]!) <= 1e-12);
          for (let j = 0; j < c.features; j++) {
            const want = phi[g]![j]!;
            const at = (r * c.groups + g) * c.features + j;
            assert.ok(Math.abs(tables[at]! - want) <= 1e-9, `tables, row ${r} output ${g} feature ${j}: ${tables[at]} vs ${want}`);
            assert.ok(Math.abs(paths[at]! - want) <= 1e-9, `paths, row ${r} output ${g} feature ${j}: ${paths[at]} vs ${want}`);
          }
        }
      }
    });
  }
});
