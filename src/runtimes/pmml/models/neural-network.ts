/**
 * NeuralNetwork: inputs (NeuralInput DerivedFields) and every neuron get a slot in one Float64Array;
 * each neuron is compiled to (bias, source slots, weights) and evaluated layer by layer with the
 * layer's (or network's) activation function, threshold, width/altitude and normalizationMethod.
 * NeuralOutputs map output neurons to targets: FieldRef (value as is), NormContinuous (inverted) for
 * regression, NormDiscrete (one neuron per category = its probability) for classification.
 */
import type { CompileContext, Expr, KernelCompiler, Prediction, Row, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { categoryKey, labelTyper, numAttr, reqAttr, reqChild, reqChildren, toNum } from './kernel-helpers.js';

type Activation = (z: number, threshold: number) => number;

/** Activation functions by name, one entry a line: an edge package keeps those its document names (and identity). */
const ACTIVATIONS: Record<string, Activation> = {
  threshold: (z, t) => (z > t ? 1 : 0),
  logistic: (z) => 1 / (1 + Math.exp(-z)),
  tanh: (z) => Math.tanh(z),
  identity: (z) => z,
  exponential: (z) => Math.exp(z),
  reciprocal: (z) => 1 / z,
  square: (z) => z * z,
  Gauss: (z) => Math.exp(-(z * z)),
  sine: (z) => Math.sin(z),
  cosine: (z) => Math.cos(z),
  Elliott: (z) => z / (1 + Math.abs(z)),
  arctan: (z) => (2 * Math.atan(z)) / Math.PI,
  rectifier: (z) => Math.max(0, z),
};

interface Layer {
  readonly start: number; // first slot of this layer's neurons
  readonly size: number;
  readonly bias: Float64Array;
  readonly from: Int32Array[]; // per neuron: source slots
  readonly weights: Float64Array[];
  readonly radial: boolean;
  readonly width: Float64Array; // radialBasis, per neuron
  readonly altitude: Float64Array;
  readonly activation: Activation;
  readonly threshold: number;
  readonly normalization: 'none' | 'simplemax' | 'softmax';
}

/** How an output neuron feeds a target. */
type OutputMap =
  | { kind: 'value'; slot: number; target: string }
  | { kind: 'inverse'; slot: number; target: string; orig: Float64Array; norm: Float64Array }
  | { kind: 'category'; slot: number; target: string; category: string; key: string };

export const compileNeuralNetwork: KernelCompiler = (el, ctx) => {
  const netActivation = reqAttr(el, 'activationFunction', ctx);
  const netNorm = attr(el, 'normalizationMethod') ?? 'none';
  const netThreshold = numAttr(el, 'threshold', ctx, 0);
  const netWidth = numAttr(el, 'width', ctx);
  const netAltitude = numAttr(el, 'altitude', ctx, 1);

  const slots = new Map<string, number>();
  const inputs: Expr[] = [];
  for (const ni of reqChildren(reqChild(el, 'NeuralInputs', ctx), 'NeuralInput', ctx)) {
    const id = reqAttr(ni, 'id', ctx);
    const df = reqChild(ni, 'DerivedField', ctx);
    const expr = df.children.find((c) => c.name !== 'Extension');
    if (!expr) return ctx.invalid(df, 'an expression is required');
    if (slots.has(id)) ctx.invalid(ni, `duplicate neuron id "${id}"`);
    slots.set(id, inputs.length);
    inputs.push(ctx.expression(expr));
  }

  let next = inputs.length;
  const layers: Layer[] = [];
  for (const layerEl of reqChildren(el, 'NeuralLayer', ctx)) {
    const actName = attr(layerEl, 'activationFunction') ?? netActivation;
    const radial = actName === 'radialBasis';
    const activation = ACTIVATIONS[actName];
    if (!radial && !activation) ctx.unsupported(layerEl, `activationFunction="${actName}"`);
    const normalization = attr(layerEl, 'normalizationMethod') ?? netNorm;
    if (normalization !== 'none' && normalization !== 'simplemax' && normalization !== 'softmax') ctx.unsupported(layerEl, `normalizationMethod="${normalization}"`);
    const threshold = numAttr(layerEl, 'threshold', ctx, netThreshold);
    const layerWidth = numAttr(layerEl, 'width', ctx, netWidth ?? NaN);
    const layerAltitude = numAttr(layerEl, 'altitude', ctx, netAltitude);
    const neurons = reqChildren(layerEl, 'Neuron', ctx);
    const start = next;
    const layer: Layer = {
      start, size: neurons.length, radial, threshold,
      normalization: normalization as Layer['normalization'],
      activation: activation ?? ACTIVATIONS.identity!,
      bias: new Float64Array(neurons.length),
      width: new Float64Array(neurons.length),
      altitude: new Float64Array(neurons.length),
      from: [], weights: [],
    };
    neurons.forEach((n, i) => {
      const id = reqAttr(n, 'id', ctx);
      if (slots.has(id)) ctx.invalid(n, `duplicate neuron id "${id}"`);
      layer.bias[i] = numAttr(n, 'bias', ctx, 0);
      layer.width[i] = numAttr(n, 'width', ctx, layerWidth);
      layer.altitude[i] = numAttr(n, 'altitude', ctx, layerAltitude);
      if (radial && Number.isNaN(layer.width[i])) ctx.invalid(n, 'radialBasis needs a width');
      const cons = children(n, 'Con');
      const from = new Int32Array(cons.length);
      const w = new Float64Array(cons.length);
      cons.forEach((c, j) => {
        const src = slots.get(reqAttr(c, 'from', ctx));
        if (src === undefined) return ctx.invalid(c, `from="${attr(c, 'from') ?? ''}" names no earlier neuron`);
        from[j] = src;
        w[j] = numAttr(c, 'weight', ctx, NaN);
        if (Number.isNaN(w[j])) ctx.invalid(c, 'attribute weight is required');
      });
      layer.from.push(from);
      layer.weights.push(w);
    });
    // Slots are assigned after the layer is read: a neuron only reads earlier layers.
    neurons.forEach((n, i) => slots.set(attr(n, 'id')!, start + i));
    next += neurons.length;
    layers.push(layer);
  }
  const total = next;

  // A NeuralOutput may name a LocalTransformations field (FieldRef) that in turn normalises the target.
  const lt = el.children.find((c) => c.name === 'LocalTransformations');
  const localDerived = new Map((lt ? children(lt, 'DerivedField') : []).map((d) => [attr(d, 'name') ?? '', d]));
  const outputs: OutputMap[] = [];
  for (const no of reqChildren(reqChild(el, 'NeuralOutputs', ctx), 'NeuralOutput', ctx)) {
    const slot = slots.get(reqAttr(no, 'outputNeuron', ctx));
    if (slot === undefined) return ctx.invalid(no, `outputNeuron="${attr(no, 'outputNeuron') ?? ''}" names no neuron`);
    const df = reqChild(no, 'DerivedField', ctx);
    outputs.push(outputMap(df, slot, ctx, localDerived));
  }
  const targetNames = [...new Set(outputs.map((o) => o.target))];
  const primary = ctx.target?.name ?? targetNames[0];
  const categoriesOf = new Map<string, { category: string; slot: number }[]>();
  for (const o of outputs) {
    if (o.kind !== 'category') continue;
    const list = categoriesOf.get(o.target) ?? [];
    list.push({ category: o.category, slot: o.slot });
    categoriesOf.set(o.target, list);
  }
  const valueOutputs = outputs.filter((o) => o.kind !== 'category');
  const typers = new Map([...categoriesOf].map(([t, cats]) => [t, labelTyper(ctx, t, cats.map((c) => c.category))]));

  const forward = (row: Row): Float64Array | null => {
    const v = new Float64Array(total);
    for (let i = 0; i < inputs.length; i++) {
      const x = toNum(inputs[i]!(row));
      if (x === null) return null;
      v[i] = x;
    }
    for (const L of layers) {
      for (let i = 0; i < L.size; i++) {
        const from = L.from[i]!, w = L.weights[i]!;
        let z: number;
        if (L.radial) {
          let s = 0;
          for (let j = 0; j < from.length; j++) { const d = v[from[j]!]! - w[j]!; s += d * d; }
          const width = L.width[i]!;
          z = s / (2 * width * width);
          v[L.start + i] = Math.exp(from.length * Math.log(L.altitude[i]!) - z);
          continue;
        }
        z = L.bias[i]!;
        for (let j = 0; j < from.length; j++) z += v[from[j]!]! * w[j]!;
        v[L.start + i] = L.activation(z, L.threshold);
      }
      if (L.normalization === 'simplemax') {
        let s = 0;
        for (let i = 0; i < L.size; i++) s += v[L.start + i]!;
        for (let i = 0; i < L.size; i++) v[L.start + i] = v[L.start + i]! / s;
      } else if (L.normalization === 'softmax') {
        let max = -Infinity;
        for (let i = 0; i < L.size; i++) max = Math.max(max, v[L.start + i]!);
        let s = 0;
        for (let i = 0; i < L.size; i++) { const e = Math.exp(v[L.start + i]! - max); v[L.start + i] = e; s += e; }
        for (let i = 0; i < L.size; i++) v[L.start + i] = v[L.start + i]! / s;
      }
    }
    return v;
  };

  return {
    evaluate(row: Row): Prediction {
      const v = forward(row);
      if (!v) return { value: null };
      const targets = new Map<string, Value>();
      let probabilities: Map<string, number> | undefined;
      for (const o of valueOutputs) targets.set(o.target, o.kind === 'value' ? v[o.slot]! : inverse(o.orig, o.norm, v[o.slot]!));
      for (const [target, cats] of categoriesOf) {
        const probs = new Map<string, number>();
        let best = -1;
        cats.forEach((c, i) => {
          probs.set(c.category, v[c.slot]!);
          if (best < 0 || v[c.slot]! > v[cats[best]!.slot]!) best = i;
        });
        targets.set(target, best < 0 ? null : typers.get(target)!(cats[best]!.category));
        if (target === primary) probabilities = probs;
      }
      const value = primary !== undefined ? targets.get(primary) ?? null : null;
      return { value, ...(probabilities ? { probabilities } : {}), ...(targets.size > 1 ? { targets } : {}) };
    },
  };
};

function outputMap(df: XmlElement, slot: number, ctx: CompileContext, localDerived: ReadonlyMap<string, XmlElement>, depth = 0): OutputMap {
  const expr = df.children.find((c) => c.name !== 'Extension');
  if (!expr) return ctx.invalid(df, 'an expression is required');
  const field = attr(expr, 'field');
  if (!field) return ctx.unsupported(expr, 'NeuralOutput expression');
  switch (expr.name) {
    case 'FieldRef': {
      const next = localDerived.get(field);
      const isTarget = ctx.targets.some((t) => t.name === field);
      if (next && !isTarget && depth < 16) return outputMap(next, slot, ctx, localDerived, depth + 1);
      return { kind: 'value', slot, target: field };
    }
    case 'NormDiscrete': {
      const category = reqAttr(expr, 'value', ctx);
      return { kind: 'category', slot, target: field, category, key: categoryKey(ctx, field, category) };
    }
    case 'NormContinuous': {
      const pts = children(expr, 'LinearNorm');
      if (pts.length < 2) return ctx.invalid(expr, 'at least two LinearNorm are required');
      return {
        kind: 'inverse', slot, target: field,
        orig: Float64Array.from(pts, (p) => numAttr(p, 'orig', ctx, NaN)),
        norm: Float64Array.from(pts, (p) => numAttr(p, 'norm', ctx, NaN)),
      };
    }
    default: return ctx.unsupported(expr, 'NeuralOutput expression (FieldRef, NormContinuous or NormDiscrete)');
  }
}

/** Invert a piecewise-linear NormContinuous: the original value whose normalised value is `y` (extrapolating past the ends). */
function inverse(orig: Float64Array, norm: Float64Array, y: number): number {
  const n = norm.length;
  let i = 0;
  while (i < n - 2 && y > norm[i + 1]!) i++;
  const x0 = orig[i]!, x1 = orig[i + 1]!, y0 = norm[i]!, y1 = norm[i + 1]!;
  return x0 + ((y - y0) * (x1 - x0)) / (y1 - y0);
}
