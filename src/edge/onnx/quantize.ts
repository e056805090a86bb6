/**
 * `ferry export --quantize int8` for ONNX models: weight-only quantization of the float
 * weights of MatMul and Gemm. Each such initialiser W becomes int8 values, a float scale per
 * output column (symmetric, zero point 0) and a DequantizeLinear node that rebuilds a float W
 * under the original name in front of the graph, so every consumer is unchanged and the
 * activations stay float. Sizes shrink about 4× for the weights; what the predictions lose is
 * measured by the caller on the parity rows.
 */
import { ferry } from '../../core/errors.js';
import { concat, floats, int64s, lengthField, readFields, str, varint, varintField, type WireField } from './onnx-wire.js';

// Field numbers of onnx.proto.
const MODEL = { graph: 7, opsetImport: 8 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, initializer: 5, input: 11 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTRIBUTE = { name: 1, i: 3, type: 20 } as const;
const TENSOR = { dims: 1, dataType: 2, floatData: 4, name: 8, rawData: 9, dataLocation: 14 } as const;
const VALUE_INFO = { name: 1 } as const;
const FLOAT = 1;
const INT8 = 3;
const ATTRIBUTE_INT = 2;
const EXTERNAL = 1;

/** The opset that added per-axis DequantizeLinear (opset 10 has it per tensor only). */
const PER_AXIS_OPSET = 13;
const MIN_OPSET = 10;

export interface QuantizedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** The axis the scales run along, or undefined for one scale for the whole tensor. */
  readonly axis: number | undefined;
}

export interface Quantized {
  readonly bytes: Uint8Array;
  readonly tensors: readonly QuantizedTensor[];
}

interface Node { readonly op: string; readonly domain: string; readonly inputs: readonly string[]; readonly transB: number }
interface Initializer { readonly name: string; readonly field: WireField; readonly dims: readonly number[]; readonly values: Float32Array | undefined }

function readNode(payload: Uint8Array): Node {
  const fields = readFields(payload);
  let transB = 0;
  for (const f of fields) {
    if (f.field !== NODE.attribute || !f.payload) continue;
    const attr = readFields(f.payload);
    const name = attr.find((a) => a.field === ATTRIBUTE.name);
    const i = attr.find((a) => a.field === ATTRIBUTE.i);
    if (name && i && str(name) === 'transB') transB = varint(i);
  }
  return {
    op: str(fields.find((f) => f.field === NODE.opType) ?? { field: 0, wireType: 2, raw: new Uint8Array() }),
    domain: fields.filter((f) => f.field === NODE.domain).map(str)[0] ?? '',
    inputs: fields.filter((f) => f.field === NODE.input).map(str),
    transB,
  };
}

/** A float initialiser's values, or undefined when it is not float data held in the file. */
function readInitializer(field: WireField): Initializer {
  const fields = readFields(field.payload ?? new Uint8Array());
  const name = fields.filter((f) => f.field === TENSOR.name).map(str)[0] ?? '';
  const dims = int64s(fields, TENSOR.dims);
  const type = fields.find((f) => f.field === TENSOR.dataType);
  const external = fields.some((f) => f.field === TENSOR.dataLocation && varint(f) === EXTERNAL);
  let values: Float32Array | undefined;
  if (type && varint(type) === FLOAT && !external) {
    const raw = fields.find((f) => f.field === TENSOR.rawData)?.payload;
    if (raw) {
      values = new Float32Array(raw.length / 4);
      new Uint8Array(values.buffer).set(raw);
    } else {
      values = Float32Array.from(floats(fields, TENSOR.floatData));
    }
    if (values.length !== dims.reduce((a, b) => a * b, 1)) values = undefined;
  }
  return { name, field, dims, values };
}

function tensorProto(name: string, dims: readonly number[], dataType: number, raw: Uint8Array): Uint8Array {
  return concat([...dims.map((d) => varintField(TENSOR.dims, d)), varintField(TENSOR.dataType, dataType), lengthField(TENSOR.name, name), lengthField(TENSOR.rawData, raw)]);
}

function dequantizeNode(w: string, axis: number | undefined): Uint8Array {
  const attrs = axis === undefined ? [] : [lengthField(NODE.attribute, concat([lengthField(ATTRIBUTE.name, 'axis'), varintField(ATTRIBUTE.i, axis), varintField(ATTRIBUTE.type, ATTRIBUTE_INT)]))];
  return concat([
    lengthField(NODE.input, `${w}_quantized`), lengthField(NODE.input, `${w}_scale`), lengthField(NODE.input, `${w}_zero_point`),
    lengthField(NODE.output, w), lengthField(NODE.name, `${w}_DequantizeLinear`), lengthField(NODE.opType, 'DequantizeLinear'), ...attrs,
  ]);
}

/** Symmetric int8: per column of the axis, scale = max|w| / 127, q = round(w / scale). */
function quantizeValues(values: Float32Array, dims: readonly number[], axis: number | undefined): { q: Int8Array; scales: Float32Array } {
  const cols = dims[1] ?? 1;
  const channels = axis === undefined ? 1 : (dims[axis] ?? 1);
  const channel = (i: number): number => (axis === undefined ? 0 : axis === 0 ? Math.floor(i / cols) : i % cols);
  const max = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) max[channel(i)] = Math.max(max[channel(i)]!, Math.abs(values[i]!));
  const scales = max.map((m) => (m > 0 ? Math.fround(m / 127) : 1));
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(values[i]! / scales[channel(i)]!)));
  return { q, scales };
}

/**
 * Quantize the MatMul/Gemm weights of an ONNX model. Refused (FERRY_E_EXPORT_UNSUPPORTED)
 * when the model's opset has no DequantizeLinear or no weight qualifies.
 */
export function quantizeInt8(artifact: Uint8Array, label: string): Quantized {
  const refuse = (reason: string): never => { throw ferry('FERRY_E_EXPORT_UNSUPPORTED', { model: label, format: 'onnx', target: '--quantize int8', reason }); };
  const model = readFields(artifact);
  const opset = model.filter((f) => f.field === MODEL.opsetImport && f.payload).map((f) => readFields(f.payload!))
    .find((o) => (o.filter((x) => x.field === OPSET.domain).map(str)[0] ?? '') === '');
  const version = opset?.find((x) => x.field === OPSET.version);
  const opsetVersion = version ? varint(version) : 0;
  if (opsetVersion < MIN_OPSET) refuse(`its default-domain opset is ${opsetVersion}; DequantizeLinear needs opset ${MIN_OPSET} or later (re-export the model with a newer opset)`);
  const graphField = model.find((f) => f.field === MODEL.graph);
  if (!graphField?.payload) return refuse('it has no graph');
  const graph = readFields(graphField.payload);

  const nodes = graph.filter((f) => f.field === GRAPH.node).map((f) => readNode(f.payload ?? new Uint8Array()));
  const graphInputs = new Set(graph.filter((f) => f.field === GRAPH.input).map((f) => readFields(f.payload ?? new Uint8Array()).filter((x) => x.field === VALUE_INFO.name).map(str)[0]));
  // Every use of a weight must be input B of a MatMul or Gemm; its axis is the output column.
  const axes = new Map<string, Set<number | undefined>>();
  const excluded = new Set<string>();
  for (const n of nodes) {
    n.inputs.forEach((input, i) => {
      const weight = n.domain === '' && i === 1 && (n.op === 'MatMul' || n.op === 'Gemm');
      if (!weight) return void excluded.add(input);
      const axis = opsetVersion < PER_AXIS_OPSET ? undefined : n.op === 'Gemm' && n.transB === 1 ? 0 : 1;
      axes.set(input, (axes.get(input) ?? new Set()).add(axis));
    });
  }
  const chosen = new Map<string, { init: Initializer; axis: number | undefined }>();
  for (const f of graph) {
    if (f.field !== GRAPH.initializer) continue;
    const init = readInitializer(f);
    const uses = axes.get(init.name);
    // An initialiser also listed as a graph input can be overridden at run time: leave it float.
    if (!uses || excluded.has(init.name) || graphInputs.has(init.name) || !init.values || init.dims.length !== 2) continue;
    const axis = uses.size === 1 ? [...uses][0] : undefined;
    // Worth it only when int8 values plus a scale and a zero point per channel (and three names) are smaller than the floats.
    const channels = axis === undefined ? 1 : (init.dims[axis] ?? 1);
    if (3 * init.values.length <= 5 * channels + 64) continue;
    chosen.set(init.name, { init, axis });
  }
  if (chosen.size === 0) refuse('it has no float MatMul or Gemm weight large enough to gain from int8 (weights must be 2-D initialisers used only as input B)');

  const dqNodes: Uint8Array[] = [];
  const newInits: Uint8Array[] = [];
  const tensors: QuantizedTensor[] = [];
  for (const [name, { init, axis }] of chosen) {
    const { q, scales } = quantizeValues(init.values!, init.dims, axis);
    const scaleDims = axis === undefined ? [] : [scales.length];
    newInits.push(
      lengthField(GRAPH.initializer, tensorProto(`${name}_quantized`, init.dims, INT8, new Uint8Array(q.buffer))),
      lengthField(GRAPH.initializer, tensorProto(`${name}_scale`, scaleDims, FLOAT, new Uint8Array(scales.buffer))),
      lengthField(GRAPH.initializer, tensorProto(`${name}_zero_point`, scaleDims, INT8, new Uint8Array(scales.length))),
    );
    dqNodes.push(lengthField(GRAPH.node, dequantizeNode(name, axis)));
    tensors.push({ name, shape: init.dims, axis });
  }
  const replaced = new Set([...chosen.values()].map((c) => c.init.field));
  // The DequantizeLinear nodes first: a graph's nodes are in topological order.
  const newGraph = concat([...dqNodes, ...graph.filter((f) => !replaced.has(f)).map((f) => f.raw), ...newInits]);
  const bytes = concat(model.map((f) => (f === graphField ? lengthField(MODEL.graph, newGraph) : f.raw)));
  return { bytes, tensors };
}
