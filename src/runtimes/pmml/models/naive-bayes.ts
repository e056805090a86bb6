/**
 * NaiveBayesModel, in log space: ln P(c) ∝ ln count(c) + Σ_inputs ln P(x | c), then softmax-normalised.
 * Discrete inputs: P(x|c) = count(x, c) / Σ_x' count(x', c) over the input's PairCounts (a zero count
 * becomes `threshold`); an optional DerivedField (Discretize) maps the value first. Continuous inputs:
 * TargetValueStats with a Gaussian or Poisson density, floored at `threshold`. Missing inputs and values
 * with no PairCounts are skipped. BayesInputs wrapped in an Extension (old R exports) are read too.
 */
import type { Expr, KernelCompiler, Prediction, Row } from '../types.js';
import { attr, child, children, type XmlElement } from '../xml.js';
import { categoryKey, keyOf, labelTyper, numAttr, reqAttr, reqChild, reqChildren, toNum } from './kernel-helpers.js';

type Input =
  | { kind: 'discrete'; field: string; derive: Expr | undefined; table: Map<string, Float64Array> }
  | { kind: 'gaussian'; field: string; cls: Int32Array; mean: Float64Array; variance: Float64Array }
  | { kind: 'poisson'; field: string; cls: Int32Array; mean: Float64Array };

export const compileNaiveBayes: KernelCompiler = (el, ctx) => {
  const threshold = numAttr(el, 'threshold', ctx);
  if (threshold === undefined) return ctx.invalid(el, 'attribute threshold is required');
  const out = reqChild(el, 'BayesOutput', ctx);
  const target = attr(out, 'fieldName') ?? attr(out, 'field') ?? ctx.target?.name;
  const priors = reqChildren(reqChild(out, 'TargetValueCounts', ctx), 'TargetValueCount', ctx);
  const classes = priors.map((p) => reqAttr(p, 'value', ctx));
  const classIndex = new Map(classes.map((c, i) => [categoryKey(ctx, target, c), i]));
  const logPrior = Float64Array.from(priors, (p) => Math.log(numAttr(p, 'count', ctx, NaN)));
  const k = classes.length;
  const typed = labelTyper(ctx, target, classes);
  const clsOf = (e: XmlElement): number => {
    const i = classIndex.get(categoryKey(ctx, target, reqAttr(e, 'value', ctx)));
    if (i === undefined) return ctx.invalid(e, `value="${attr(e, 'value') ?? ''}" is not a BayesOutput category`);
    return i;
  };

  const bis = reqChild(el, 'BayesInputs', ctx);
  const inputEls = [...children(bis, 'BayesInput'), ...children(bis, 'Extension').flatMap((x) => children(x, 'BayesInput'))];
  const inputs: Input[] = inputEls.map((bi): Input => {
    const field = attr(bi, 'fieldName') ?? attr(bi, 'field');
    if (!field) return ctx.invalid(bi, 'attribute fieldName is required');
    const stats = child(bi, 'TargetValueStats');
    if (stats) {
      const list = reqChildren(stats, 'TargetValueStat', ctx);
      const cls = Int32Array.from(list, clsOf);
      const dists = list.map((s) => s.children.find((c) => c.name !== 'Extension') ?? ctx.invalid(s, 'a distribution is required'));
      const kind = dists[0]!.name;
      if (dists.some((d) => d.name !== kind) || (kind !== 'GaussianDistribution' && kind !== 'PoissonDistribution')) return ctx.unsupported(dists[0]!, 'distribution (Gaussian or Poisson only)');
      const mean = Float64Array.from(dists, (d) => numAttr(d, 'mean', ctx, NaN));
      if (kind === 'PoissonDistribution') return { kind: 'poisson', field, cls, mean };
      return { kind: 'gaussian', field, cls, mean, variance: Float64Array.from(dists, (d) => numAttr(d, 'variance', ctx, NaN)) };
    }
    const df = child(bi, 'DerivedField');
    const dExpr = df?.children.find((c) => c.name !== 'Extension');
    const derive = dExpr ? ctx.expression(dExpr) : undefined;
    const table = new Map<string, Float64Array>();
    const sums = new Float64Array(k);
    const pcs = children(bi, 'PairCounts');
    const counts = pcs.map((pc) => {
      const row = new Float64Array(k);
      for (const tvc of reqChildren(reqChild(pc, 'TargetValueCounts', ctx), 'TargetValueCount', ctx)) {
        const c = clsOf(tvc);
        row[c] = numAttr(tvc, 'count', ctx, NaN);
        sums[c] = sums[c]! + row[c];
      }
      return row;
    });
    pcs.forEach((pc, i) => {
      const text = reqAttr(pc, 'value', ctx);
      const key = derive ? text : categoryKey(ctx, field, text);
      const p = new Float64Array(k);
      for (let c = 0; c < k; c++) p[c] = Math.log(counts[i]![c] === 0 ? threshold : counts[i]![c]! / sums[c]!);
      table.set(key, p);
    });
    return { kind: 'discrete', field, derive, table };
  });

  return {
    evaluate(row: Row): Prediction {
      const score = Float64Array.from(logPrior);
      for (const input of inputs) {
        const raw = row.get(input.field);
        if (raw === null) continue;
        if (input.kind === 'discrete') {
          const v = input.derive ? input.derive(row) : raw;
          if (v === null) continue;
          const p = input.table.get(keyOf(v));
          if (!p) continue;
          for (let c = 0; c < k; c++) score[c] = score[c]! + p[c]!;
          continue;
        }
        const x = toNum(raw);
        if (x === null) continue;
        for (let j = 0; j < input.cls.length; j++) {
          let p: number;
          const m = input.mean[j]!;
          if (input.kind === 'gaussian') {
            const v = input.variance[j]!;
            if (v === 0) continue;
            p = Math.exp(-((x - m) * (x - m)) / (2 * v)) / Math.sqrt(2 * Math.PI * v);
          } else {
            p = Math.exp(x * Math.log(m) - m - logFactorial(x));
          }
          if (!(p >= threshold)) p = threshold;
          const c = input.cls[j]!;
          score[c] = score[c]! + Math.log(p);
        }
      }
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, score[c]!);
      let sum = 0;
      const e = new Float64Array(k);
      for (let c = 0; c < k; c++) { e[c] = Math.exp(score[c]! - max); sum += e[c]!; }
      const probabilities = new Map<string, number>();
      let best = 0;
      for (let c = 0; c < k; c++) {
        probabilities.set(classes[c]!, e[c]! / sum);
        if (e[c]! > e[best]!) best = c;
      }
      const label = classes[best]!;
      return { value: typed(label), probabilities };
    },
  };
};

function logFactorial(x: number): number {
  let s = 0;
  for (let i = 2; i <= x; i++) s += Math.log(i);
  return s;
}
