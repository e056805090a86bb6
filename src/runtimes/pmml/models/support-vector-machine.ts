/**
 * SupportVectorMachineModel (svmRepresentation="SupportVectors"): the input vector is built from
 * VectorFields (FieldRef → the value; CategoricalPredictor → 1 when the value equals, else 0), all support
 * vectors sit in one Float64Array, and each SupportVectorMachine computes Σ αᵢ K(x, svᵢ) + b.
 * Regression: that value. Classification: OneAgainstOne votes (value < threshold → targetCategory, else
 * alternateTargetCategory; probabilities are vote shares), OneAgainstAll picks the smallest value
 * (largest with maxWins), and a binary model with alternateBinaryTargetCategory rounds to 0/1.
 */
import type { KernelCompiler, Prediction, Row } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { categoryKey, childArray, keyOf, labelTyper, numAttr, reqAttr, reqChild, reqChildren, toNum } from './kernel-helpers.js';

type Kernel = (x: Float64Array, sv: Float64Array, offset: number, n: number) => number;

interface Machine {
  readonly rows: Int32Array; // offsets into the support-vector matrix
  readonly alpha: Float64Array;
  readonly b: number;
  readonly target: string | undefined;
  readonly alternate: string | undefined;
  readonly threshold: number;
}

export const compileSupportVectorMachine: KernelCompiler = (el, ctx) => {
  const representation = attr(el, 'svmRepresentation') ?? 'SupportVectors';
  if (representation !== 'SupportVectors') ctx.unsupported(el, `svmRepresentation="${representation}"`);
  const kernel = compileKernel(el, ctx);
  const dict = reqChild(el, 'VectorDictionary', ctx);
  const vf = reqChild(dict, 'VectorFields', ctx);
  type Slot = { field: string; key: string | undefined };
  const slots: Slot[] = vf.children.filter((c) => c.name !== 'Extension').map((c): Slot => {
    if (c.name === 'FieldRef') return { field: reqAttr(c, 'field', ctx), key: undefined };
    if (c.name === 'CategoricalPredictor') {
      const field = reqAttr(c, 'name', ctx);
      if (numAttr(c, 'coefficient', ctx, 1) !== 1) ctx.unsupported(c, 'coefficient other than 1');
      return { field, key: categoryKey(ctx, field, reqAttr(c, 'value', ctx)) };
    }
    return ctx.unsupported(c, 'VectorFields entry');
  });
  const n = slots.length;
  const instances = children(dict, 'VectorInstance');
  const sv = new Float64Array(instances.length * n);
  const rowOf = new Map<string, number>();
  instances.forEach((vi, i) => {
    const a = childArray(vi, ctx);
    if (a.length !== n) ctx.invalid(vi, `${a.length} values for ${n} VectorFields`);
    sv.set(a, i * n);
    rowOf.set(reqAttr(vi, 'id', ctx), i * n);
  });

  const modelThreshold = numAttr(el, 'threshold', ctx, 0);
  const machines: Machine[] = reqChildren(el, 'SupportVectorMachine', ctx).map((m) => {
    const svs = children(reqChild(m, 'SupportVectors', ctx), 'SupportVector');
    const coefs = reqChild(m, 'Coefficients', ctx);
    const cs = children(coefs, 'Coefficient');
    if (cs.length !== svs.length) ctx.invalid(m, `${cs.length} coefficients for ${svs.length} support vectors`);
    return {
      rows: Int32Array.from(svs, (s) => {
        const r = rowOf.get(reqAttr(s, 'vectorId', ctx));
        if (r === undefined) return ctx.invalid(s, `vectorId="${attr(s, 'vectorId') ?? ''}" is not in the VectorDictionary`);
        return r;
      }),
      alpha: Float64Array.from(cs, (c) => numAttr(c, 'value', ctx, 0)),
      b: numAttr(coefs, 'absoluteValue', ctx, 0),
      target: attr(m, 'targetCategory'),
      alternate: attr(m, 'alternateTargetCategory'),
      threshold: numAttr(m, 'threshold', ctx, modelThreshold),
    };
  });

  const decision = (m: Machine, x: Float64Array): number => {
    let s = m.b;
    for (let i = 0; i < m.rows.length; i++) s += m.alpha[i]! * kernel(x, sv, m.rows[i]!, n);
    return s;
  };
  const input = (row: Row): Float64Array | null => {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      const v = row.get(s.field);
      if (v === null) return null;
      if (s.key !== undefined) { x[i] = keyOf(v) === s.key ? 1 : 0; continue; }
      const num = toNum(v);
      if (num === null) return null;
      x[i] = num;
    }
    return x;
  };

  const fn = attr(el, 'functionName');
  if (fn === 'regression') {
    if (machines.length !== 1) ctx.invalid(el, 'a regression model has exactly one SupportVectorMachine');
    const m = machines[0]!;
    return { evaluate: (row) => { const x = input(row); return { value: x ? decision(m, x) : null }; } };
  }
  if (fn !== 'classification') return ctx.unsupported(el, `functionName="${fn ?? ''}"`);

  const target = ctx.target?.name;
  const typed = labelTyper(ctx, target, machines.flatMap((m) => [m.target, m.alternate].filter((l): l is string => l !== undefined)));
  const binaryAlt = attr(el, 'alternateBinaryTargetCategory');
  const declared = attr(el, 'classificationMethod');
  const method = declared ?? (binaryAlt !== undefined || machines.every((m) => m.alternate !== undefined) ? 'OneAgainstOne' : 'OneAgainstAll');
  if (method !== 'OneAgainstOne' && method !== 'OneAgainstAll') return ctx.unsupported(el, `classificationMethod="${method}"`);
  for (const m of machines) if (m.target === undefined) ctx.invalid(el, 'SupportVectorMachine needs targetCategory');

  if (method === 'OneAgainstAll') {
    const maxWins = attr(el, 'maxWins') === 'true';
    return {
      evaluate(row: Row): Prediction {
        const x = input(row);
        if (!x) return { value: null };
        let best = -1, bestValue = 0;
        const affinities = new Map<string, number>();
        machines.forEach((m, i) => {
          const d = decision(m, x);
          affinities.set(m.target!, d);
          if (best < 0 || (maxWins ? d > bestValue : d < bestValue)) { best = i; bestValue = d; }
        });
        return { value: typed(machines[best]!.target!), affinities };
      },
    };
  }

  if (binaryAlt === undefined && machines.some((m) => m.alternate === undefined)) return ctx.invalid(el, 'OneAgainstOne needs alternateTargetCategory on every SupportVectorMachine');
  // Vote labels in first-seen order, so ties go to the category named first.
  const labels: string[] = [];
  for (const m of machines) for (const l of [m.target, m.alternate ?? binaryAlt]) if (l !== undefined && !labels.includes(l)) labels.push(l);
  return {
    evaluate(row: Row): Prediction {
      const x = input(row);
      if (!x) return { value: null };
      const votes = new Map<string, number>(labels.map((l) => [l, 0]));
      for (const m of machines) {
        const d = decision(m, x);
        let label: string;
        if (binaryAlt !== undefined && m.alternate === undefined) {
          const r = Math.round(d);
          if (r !== 0 && r !== 1) return { value: null };
          label = r === 1 ? m.target! : binaryAlt;
        } else {
          label = d < m.threshold ? m.target! : m.alternate!;
        }
        votes.set(label, votes.get(label)! + 1);
      }
      let best = labels[0]!;
      for (const l of labels) if (votes.get(l)! > votes.get(best)!) best = l;
      const probabilities = new Map<string, number>();
      for (const l of labels) probabilities.set(l, votes.get(l)! / machines.length);
      return { value: typed(best), probabilities };
    },
  };
};

function compileKernel(el: XmlElement, ctx: Parameters<KernelCompiler>[1]): Kernel {
  const k = el.children.find((c) => c.name.endsWith('KernelType'));
  if (!k) return ctx.invalid(el, 'a kernel type element is required');
  const dot = (x: Float64Array, sv: Float64Array, o: number, n: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i]! * sv[o + i]!;
    return s;
  };
  switch (k.name) {
    case 'LinearKernelType': return dot;
    case 'PolynomialKernelType': {
      const gamma = numAttr(k, 'gamma', ctx, 1), coef0 = numAttr(k, 'coef0', ctx, 1), degree = numAttr(k, 'degree', ctx, 1);
      return (x, sv, o, n) => Math.pow(gamma * dot(x, sv, o, n) + coef0, degree);
    }
    case 'RadialBasisKernelType': {
      const gamma = numAttr(k, 'gamma', ctx, 1);
      return (x, sv, o, n) => {
        let s = 0;
        for (let i = 0; i < n; i++) { const d = x[i]! - sv[o + i]!; s += d * d; }
        return Math.exp(-gamma * s);
      };
    }
    case 'SigmoidKernelType': {
      const gamma = numAttr(k, 'gamma', ctx, 1), coef0 = numAttr(k, 'coef0', ctx, 1);
      return (x, sv, o, n) => Math.tanh(gamma * dot(x, sv, o, n) + coef0);
    }
    default: return ctx.unsupported(k, 'kernel type');
  }
}
