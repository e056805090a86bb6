import { ferry, quoteList } from '../core/errors.js';
import { describeShape, type ModelSignature } from '../core/signature.js';
import { allocate, type Tensor, type TensorData } from '../core/tensor.js';

/**
 * Check named tensors against a signature: every input present, no unknown ones, dtypes
 * equal, shapes compatible (free axes match anything), one batch size across inputs.
 * Returns the batch size. Errors name the input and what was expected, never the data.
 */
export function checkTensors(signature: ModelSignature, tensors: Readonly<Record<string, Tensor>>): number {
  const names = signature.inputs.map((i) => i.name);
  for (const name of Object.keys(tensors)) {
    if (!names.includes(name)) throw ferry('FERRY_E_INPUT_UNKNOWN', { input: name, inputs: quoteList(names) });
  }
  let rows: number | undefined;
  for (const spec of signature.inputs) {
    const t = tensors[spec.name];
    if (!t) throw ferry('FERRY_E_INPUT_MISSING', { input: spec.name, expected: `${spec.dtype} ${describeShape(spec.shape)}`, present: quoteList(Object.keys(tensors)) });
    if (t.dtype !== spec.dtype) throw ferry('FERRY_E_DTYPE_MISMATCH', { input: spec.name, expected: spec.dtype, actual: t.dtype });
    const fits = t.shape.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === t.shape[i]);
    if (!fits) throw ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `shape ${describeShape(spec.shape)}`, actual: `[${t.shape.join(', ')}]` });
    const n = t.shape.length === 0 ? 1 : (t.shape[0] ?? 1);
    if (n === 0) throw ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: 'at least one row', actual: `shape [${t.shape.join(', ')}]` });
    if (rows !== undefined && n !== rows) {
      throw ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `batch size ${rows} like the other inputs`, actual: `${n}` });
    }
    rows = n;
  }
  return rows ?? 0;
}

/** The non-batch part of a tensor's shape, as a string key (requests batch only with equals). */
export function tailKey(tensors: Readonly<Record<string, Tensor>>): string {
  const names = Object.keys(tensors);
  if (names.length === 1) return part(names[0] as string, tensors[names[0] as string] as Tensor);
  return names.map((n) => part(n, tensors[n] as Tensor)).sort().join('|');
}

function part(name: string, t: Tensor): string {
  let key = `${name}:${t.dtype}:`;
  for (let i = 1; i < t.shape.length; i++) key += i > 1 ? `x${t.shape[i]}` : String(t.shape[i]);
  return key;
}

/** Concatenate tensors of the same dtype and tail shape along axis 0. */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw ferry('FERRY_E_INTERNAL', { detail: 'concatRows of nothing' });
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, t) => n + (t.shape[0] ?? 0), 0);
  const total = parts.reduce((n, t) => n + t.data.length, 0);
  if (Array.isArray(first.data)) {
    return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data: parts.flatMap((t) => t.data as readonly string[]) };
  }
  const data = allocate(first.dtype, total) as Exclude<TensorData, readonly string[]>;
  let offset = 0;
  for (const t of parts) {
    (data as Float32Array).set(t.data as Float32Array, offset);
    offset += t.data.length;
  }
  return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data };
}

/** Rows [start, end) of a tensor along axis 0 (a view for typed arrays). */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const rows = t.shape[0] ?? 0;
  const size = rows === 0 ? 0 : t.data.length / rows;
  const data = Array.isArray(t.data)
    ? (t.data as readonly string[]).slice(start * size, end * size)
    : (t.data as Float32Array).subarray(start * size, end * size);
  return { dtype: t.dtype, shape: [end - start, ...t.shape.slice(1)], data };
}

/** Rows `index` of a tensor (used to pad a fixed-size batch by repeating rows). */
export function takeRows(t: Tensor, index: readonly number[]): Tensor {
  return concatRows(index.map((i) => sliceRows(t, i, i + 1)));
}

/** Approximate bytes a tensor holds (for cache sizing). */
export function tensorBytes(t: Tensor): number {
  if (Array.isArray(t.data)) return (t.data as readonly string[]).reduce((n, s) => n + s.length * 2 + 8, 0);
  return (t.data as Float32Array).byteLength;
}
