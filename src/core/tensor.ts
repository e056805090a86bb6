import type { DType } from './dtype.js';

/** Flat element storage of a tensor, in row-major order. */
export type TensorData =
  | Float32Array | Float64Array | Uint16Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint32Array | BigUint64Array
  | readonly string[];

/** A dense tensor: the only value shape runtimes see. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Allocate flat storage for `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': return new Uint16Array(n);
    case 'int8': return new Int8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'uint64': return new BigUint64Array(n);
    case 'string': return new Array<string>(n).fill('');
  }
}

/** One element as a JSON-friendly value: 64-bit integers become numbers, bools booleans. */
export function elementAt(tensor: Tensor, index: number): number | string | boolean | null {
  const value = tensor.data[index];
  if (value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (tensor.dtype === 'bool') return value !== 0;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}
