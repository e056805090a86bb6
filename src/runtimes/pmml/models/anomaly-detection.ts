/**
 * AnomalyDetectionModel wraps one nested model (compiled by the core) and turns its result into an
 * anomaly score:
 *   iforest          2^(−E(h)/c(n)): E(h) = the nested ensemble's average path length, n = sampleDataSize,
 *                    c(n) = 2·H(n−1) − 2(n−1)/n with H(i) ≈ ln i + 0.57721566 (c(2) = 1, c(n<2) = 0);
 *   clusterMeanDist  distance to the winning cluster / MeanClusterDistances of that cluster;
 *   ocsvm, other     the nested model's value.
 * An OutputField feature="anomaly" (with a `threshold` on the field or the model) is true when score > threshold;
 * the usual way, a `decision` OutputField with an Apply, is left to the core.
 */
import type { CompileContext, CompiledModel, KernelCompiler, OutputGetter, Prediction, Row } from '../types.js';
import { attr, child, children, type XmlElement } from '../xml.js';
import { childArray, numAttr, reqAttr, toNum } from './kernel-helpers.js';

const NESTED = new Set(['MiningModel', 'TreeModel', 'ClusteringModel', 'SupportVectorMachineModel', 'RegressionModel',
  'GeneralRegressionModel', 'NeuralNetwork', 'NearestNeighborModel', 'NaiveBayesModel', 'Scorecard', 'RuleSetModel']);
/**
 * Euler's constant as the PMML 4.4 AnomalyDetectionModel page gives it ("H(x) may be reasonably approximated as
 * ln(x) + 0.57721566"), and as pmml4s uses it; the full-precision value moves scores by ~1e-9 relative.
 */
const EULER_GAMMA = 0.57721566;

/** Average path length of an unsuccessful search in a binary search tree of n points. */
export function averagePathLength(n: number): number {
  if (n > 2) return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
  return n === 2 ? 1 : 0;
}

type Score = (row: Row) => number | null;

/** The anomaly score of each algorithmType, one entry a line: an exported package keeps its document's (src/edge/narrowing.ts). */
const ALGORITHMS: Readonly<Record<string, (el: XmlElement, ctx: CompileContext, nestedEl: XmlElement, nested: CompiledModel) => Score>> = {
  iforest: iforest,
  clusterMeanDist: clusterMeanDist,
  ocsvm: (_el, _ctx, _nestedEl, nested) => (row) => toNum(nested.score(row).prediction.value),
  other: (_el, _ctx, _nestedEl, nested) => (row) => toNum(nested.score(row).prediction.value),
};

function iforest(el: XmlElement, ctx: CompileContext, _nestedEl: XmlElement, nested: CompiledModel): Score {
  const n = numAttr(el, 'sampleDataSize', ctx);
  if (n === undefined) return ctx.invalid(el, 'iforest needs sampleDataSize');
  const c = averagePathLength(n);
  return (row) => {
    const h = toNum(nested.score(row).prediction.value);
    return h === null ? null : Math.pow(2, -h / c);
  };
}

function clusterMeanDist(el: XmlElement, ctx: CompileContext, nestedEl: XmlElement, nested: CompiledModel): Score {
  if (nestedEl.name !== 'ClusteringModel') return ctx.invalid(nestedEl, 'clusterMeanDist needs a nested ClusteringModel');
  const mcd = child(el, 'MeanClusterDistances');
  if (!mcd) return ctx.invalid(el, 'clusterMeanDist needs MeanClusterDistances');
  const means = childArray(mcd, ctx);
  const position = new Map(children(nestedEl, 'Cluster').map((cl: XmlElement, i) => [attr(cl, 'id') ?? String(i + 1), i]));
  if (means.length !== position.size) ctx.invalid(mcd, `${means.length} distances for ${position.size} clusters`);
  return (row) => {
    const p = nested.score(row).prediction;
    const id = p.value === null ? undefined : String(p.value);
    const i = id === undefined ? undefined : position.get(id);
    const d = id === undefined ? undefined : p.affinities?.get(id);
    return i === undefined || d === undefined ? null : d / means[i]!;
  };
}

export const compileAnomalyDetection: KernelCompiler = (el, ctx) => {
  const algorithm = reqAttr(el, 'algorithmType', ctx);
  const nestedEl = el.children.find((c) => NESTED.has(c.name));
  if (!nestedEl) return ctx.invalid(el, 'a nested model is required');
  const nested = ctx.model(nestedEl);
  const algorithmScore = Object.hasOwn(ALGORITHMS, algorithm) ? ALGORITHMS[algorithm] : undefined;
  if (!algorithmScore) return ctx.unsupported(el, `algorithmType="${algorithm}"`);
  const score = algorithmScore(el, ctx, nestedEl, nested);
  const modelThreshold = numAttr(el, 'threshold', ctx);

  return {
    evaluate(row: Row): Prediction {
      return { value: score(row) };
    },
    resolveOutput(of: XmlElement): OutputGetter | undefined {
      if (attr(of, 'feature') !== 'anomaly') return undefined;
      const threshold = numAttr(of, 'threshold', ctx) ?? modelThreshold;
      if (threshold === undefined) return ctx.invalid(of, 'feature="anomaly" needs a threshold (on the OutputField or the model)');
      return (p) => (typeof p.value === 'number' ? p.value > threshold : null);
    },
  };
};
