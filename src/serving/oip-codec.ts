import type { DType } from '../core/dtype.js';
import { ferry } from '../core/errors.js';
import { flattenNested } from '../core/nested.js';
import { allocate, BYTES_PER_ELEMENT, elementCount, viewOf, type Tensor, type TensorData } from '../core/tensor.js';

/**
 * Open Inference Protocol tensors ↔ Ferry tensors, shared by the REST (JSON and binary
 * extension) and gRPC adapters: datatype names, element checks, raw little-endian bytes.
 */

const TO_DTYPE: Readonly<Record<string, DType>> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

const TO_DATATYPE: Readonly<Record<DType, string>> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64',
  int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  float16: 'FP16', float32: 'FP32', float64: 'FP64', string: 'BYTES',
};

/** OIP datatype name of a dtype (`float32` → `FP32`). */
export function datatypeOf(dtype: DType): string {
  return TO_DATATYPE[dtype];
}

/** Ferry dtype of an OIP datatype name, or a 400 naming the input. */
export function dtypeOf(datatype: unknown, input: string, protocol: string): DType {
  const dtype = typeof datatype === 'string' && Object.hasOwn(TO_DTYPE, datatype) ? TO_DTYPE[datatype] : undefined;
  if (!dtype) throw bad(protocol, `input "${input}" has datatype ${JSON.stringify(datatype)}; use one of ${Object.keys(TO_DTYPE).join(', ')}`);
  return dtype;
}

export function checkShape(shape: unknown, input: string, protocol: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw bad(protocol, `input "${input}" needs "shape": a list of non-negative integers`);
  }
  const dims = shape as number[];
  if (elementCount(dims) > 2 ** 31) throw bad(protocol, `input "${input}" shape [${dims.join(', ')}] is too large`);
  return dims;
}

/**
 * A tensor from JSON `data` (flat or nested, row-major). A `null` in a float tensor becomes NaN
 * (JSON has none) and `onNull` hears the first one's element index, so the caller can refuse it
 * for an input that does not accept missing values.
 */
export function tensorFromJson(name: string, dtype: DType, shape: number[], data: unknown, protocol: string, onNull?: (index: number) => void): Tensor {
  if (dtype === 'float16') throw bad(protocol, `input "${name}" is FP16, which JSON cannot carry; use the binary tensor extension`);
  if (data === undefined) throw bad(protocol, `input "${name}" has no "data"`);
  // Fast path: a flat list of numbers into a numeric tensor (the common case; no copy, no branching per element).
  if (Array.isArray(data) && (dtype === 'float32' || dtype === 'float64' || dtype === 'int32')) {
    const fast = flatNumbers(data, dtype, shape);
    if (fast) return { dtype, shape, data: fast };
  }
  const flat = flattenNested(data, MAX_DEPTH);
  if (!flat) throw bad(protocol, `input "${name}" "data" is nested more than ${MAX_DEPTH} levels deep`);
  const n = elementCount(shape);
  if (flat.length !== n) throw bad(protocol, `input "${name}" has ${flat.length} element(s) but shape [${shape.join(', ')}] needs ${n}`);
  const out = allocate(dtype, n);
  let nullSeen = false;
  for (let i = 0; i < n; i++) {
    const v = flat[i];
    if (v === null && !nullSeen && (dtype === 'float32' || dtype === 'float64')) {
      nullSeen = true;
      onNull?.(i);
    }
    if (!setJsonElement(out, dtype, i, v)) {
      throw bad(protocol, `input "${name}" element ${i} is ${describe(v)}, not ${TO_DATATYPE[dtype]}`);
    }
  }
  return { dtype, shape, data: out };
}

const MAX_DEPTH = 32;

/** A flat array of finite numbers (integers for int32) as a typed array, or undefined to take the general path. */
function flatNumbers(data: readonly unknown[], dtype: 'float32' | 'float64' | 'int32', shape: readonly number[]): Float32Array | Float64Array | Int32Array | undefined {
  const n = elementCount(shape);
  if (data.length !== n) return undefined;
  const out = dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    out[i] = v;
    if (dtype === 'int32' && out[i] !== v) return undefined;
  }
  return out;
}

function setJsonElement(out: TensorData, dtype: DType, i: number, v: unknown): boolean {
  if (dtype === 'string') {
    if (typeof v !== 'string') return false;
    (out as string[])[i] = v;
    return true;
  }
  if (dtype === 'bool') {
    if (typeof v !== 'boolean') return false;
    (out as Uint8Array)[i] = v ? 1 : 0;
    return true;
  }
  if (v === null && (dtype === 'float32' || dtype === 'float64')) {
    // JSON has no NaN: null is a missing value, as tensorToJson writes non-finite outputs.
    (out as Float32Array)[i] = Number.NaN;
    return true;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (dtype.startsWith('float')) {
    (out as Float32Array)[i] = v;
    return true;
  }
  if (!Number.isInteger(v)) return false;
  if (dtype === 'int64' || dtype === 'uint64') {
    if (dtype === 'uint64' && v < 0) return false;
    (out as BigInt64Array)[i] = BigInt(v);
    return true;
  }
  const view = out as Int32Array;
  view[i] = v;
  return view[i] === v; // out of range for the element type
}

/** A tensor from raw little-endian bytes (binary extension, gRPC raw contents). */
export function tensorFromBytes(name: string, dtype: DType, shape: number[], bytes: Uint8Array, protocol: string): Tensor {
  const n = elementCount(shape);
  if (dtype === 'string') {
    const out: string[] = [];
    let off = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decoder = new TextDecoder();
    while (off < bytes.byteLength) {
      if (off + 4 > bytes.byteLength) throw bad(protocol, `input "${name}" BYTES data is truncated`);
      const len = view.getUint32(off, true);
      off += 4;
      if (off + len > bytes.byteLength) throw bad(protocol, `input "${name}" BYTES element ${out.length} is truncated`);
      out.push(decoder.decode(bytes.subarray(off, off + len)));
      off += len;
    }
    if (out.length !== n) throw bad(protocol, `input "${name}" has ${out.length} BYTES element(s) but shape [${shape.join(', ')}] needs ${n}`);
    return { dtype, shape, data: out };
  }
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength !== n * size) {
    throw bad(protocol, `input "${name}" has ${bytes.byteLength} byte(s) of data but shape [${shape.join(', ')}] of ${TO_DATATYPE[dtype]} needs ${n * size}`);
  }
  // A view of the body's bytes where they are aligned for the element size (no copy of a large
  // tensor); otherwise a copy into an aligned buffer.
  let aligned = bytes;
  if (bytes.byteOffset % size !== 0) {
    aligned = new Uint8Array(bytes.byteLength);
    aligned.set(bytes);
  }
  const data = viewOf(dtype, aligned.buffer, aligned.byteOffset, n);
  if (dtype === 'bool' && (data as Uint8Array).some((b) => b > 1)) throw bad(protocol, `input "${name}" BOOL bytes must be 0 or 1`);
  return { dtype, shape, data };
}


/** Raw little-endian bytes of a tensor (BYTES: 4-byte length prefix per element). */
export function tensorToBytes(t: Tensor): Uint8Array {
  if (Array.isArray(t.data)) {
    const parts = (t.data as readonly string[]).map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, off);
      p.copy(out, off + 4);
      off += 4 + p.length;
    }
    return out;
  }
  const v = t.data as Float32Array;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** JSON `data` of a tensor: flat, row-major; 64-bit integers as numbers, bools as booleans. */
export function tensorToJson(t: Tensor): unknown[] {
  if (Array.isArray(t.data)) return [...(t.data as readonly string[])];
  if (t.dtype === 'bool') return Array.from(t.data as Uint8Array, (b) => b !== 0);
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return Array.from(t.data, Number);
  if (t.dtype === 'float32' || t.dtype === 'float64') return Array.from(t.data as Float32Array, (x) => (Number.isFinite(x) ? x : null));
  return Array.from(t.data as Int32Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? 'a string' : typeof v;
}

function bad(protocol: string, detail: string) {
  return ferry('FERRY_E_REQUEST_INVALID', { protocol, detail });
}
