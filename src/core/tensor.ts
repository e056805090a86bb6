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

/** Bytes per element of each fixed-size dtype (strings have no fixed size). */
export const BYTES_PER_ELEMENT: Readonly<Record<Exclude<DType, 'string'>, number>> = {
  bool: 1, uint8: 1, int8: 1, uint16: 2, int16: 2, float16: 2, uint32: 4, int32: 4, float32: 4, uint64: 8, int64: 8, float64: 8,
};

/** A typed array class of the tensors' storage. */
interface TypedArrayClass {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): Exclude<TensorData, readonly string[]>;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * The typed array holding each fixed-size dtype, one entry a line: an exported package keeps the
 * dtypes its model's inputs take (src/edge/narrowing.ts).
 */
const TYPED_ARRAYS: Readonly<Record<Exclude<DType, 'string'>, TypedArrayClass>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Allocate flat storage for `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): TensorData {
  if (dtype === 'string') return new Array<string>(n).fill('');
  return viewOf(dtype, new ArrayBuffer(n * TYPED_ARRAYS[dtype].BYTES_PER_ELEMENT));
}

/**
 * The typed array of `dtype` over a buffer (raw little-endian tensor bytes): the whole buffer, or
 * `length` elements from `byteOffset` on (a multiple of the element size).
 */
export function viewOf(dtype: Exclude<DType, 'string'>, buffer: ArrayBufferLike, byteOffset = 0, length?: number): Exclude<TensorData, readonly string[]> {
  return new TYPED_ARRAYS[dtype](buffer, byteOffset, length);
}

/** One element as a JSON-friendly value: 64-bit integers become numbers, bools booleans. */
export function elementAt(tensor: Tensor, index: number): number | string | boolean | null {
  const value = tensor.data[index];
  // A string tensor may hold null for a missing value (PMML outputs, nullable text inputs).
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (tensor.dtype === 'bool') return value !== 0;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}
