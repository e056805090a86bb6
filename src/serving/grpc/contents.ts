import type { DType } from '../../core/dtype.js';
import { ferry } from '../../core/errors.js';
import { allocate, elementCount, type Tensor } from '../../core/tensor.js';
import { datatypeOf } from '../oip-codec.js';
import type { InferTensorContents } from './messages.js';

/**
 * Open Inference Protocol gRPC typed tensor contents (`InferTensorContents`) ↔ Ferry tensors.
 * Raw contents (`raw_input_contents` / `raw_output_contents`) go through oip-codec's
 * tensorFromBytes / tensorToBytes instead.
 *
 * 64-bit integers travel as decimal strings (proto-loader `longs: String`) so no precision is lost.
 */

export type ContentsField = keyof InferTensorContents;

const FIELDS: readonly ContentsField[] = [
  'bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents',
];

/** The typed contents field that carries a dtype; FP16 has none (raw contents only). */
const FIELD_OF: Readonly<Record<DType, ContentsField | undefined>> = {
  bool: 'bool_contents',
  int8: 'int_contents', int16: 'int_contents', int32: 'int_contents',
  int64: 'int64_contents',
  uint8: 'uint_contents', uint16: 'uint_contents', uint32: 'uint_contents',
  uint64: 'uint64_contents',
  float32: 'fp32_contents',
  float64: 'fp64_contents',
  float16: undefined,
  string: 'bytes_contents',
};

/** Whether a contents message carries any element at all. */
export function hasContents(contents: InferTensorContents | null | undefined): boolean {
  return !!contents && FIELDS.some((f) => (contents[f]?.length ?? 0) > 0);
}

/** Whether a tensor can be answered as typed contents (FP16 cannot). */
export function hasContentsField(dtype: DType): boolean {
  return FIELD_OF[dtype] !== undefined;
}

/** A tensor from an input's typed contents, validated against its datatype and shape. */
export function tensorFromContents(name: string, dtype: DType, shape: number[], contents: InferTensorContents | null | undefined, protocol: string): Tensor {
  const datatype = datatypeOf(dtype);
  const field = FIELD_OF[dtype];
  if (!field) throw bad(protocol, `input "${name}" is ${datatype}, which has no typed contents field; send it in raw_input_contents`);
  const misplaced = FIELDS.find((f) => f !== field && (contents?.[f]?.length ?? 0) > 0);
  if (misplaced) throw bad(protocol, `input "${name}" is ${datatype} but carries data in contents.${misplaced}; ${datatype} data goes in contents.${field}`);
  const values: readonly unknown[] = contents?.[field] ?? [];
  const n = elementCount(shape);
  if (values.length !== n) {
    throw bad(protocol, `input "${name}" has ${values.length} element(s) in contents.${field} but shape [${shape.join(', ')}] needs ${n}`);
  }
  switch (dtype) {
    case 'string': {
      const decoder = new TextDecoder();
      return { dtype, shape, data: (values as readonly Uint8Array[]).map((b) => decoder.decode(b)) };
    }
    case 'bool':
      return { dtype, shape, data: Uint8Array.from(values as readonly boolean[], (b) => (b ? 1 : 0)) };
    case 'float32':
      return { dtype, shape, data: Float32Array.from(values as readonly number[]) };
    case 'float64':
      return { dtype, shape, data: Float64Array.from(values as readonly number[]) };
    case 'int64':
    case 'uint64': {
      const data = dtype === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let big: bigint;
        try {
          big = BigInt(typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint' ? v : String(v));
        } catch {
          throw bad(protocol, `input "${name}" element ${i} (${String(v)}) is not an integer`);
        }
        data[i] = big;
        if (data[i] !== big) throw bad(protocol, `input "${name}" element ${i} (${String(v)}) is out of range for ${datatype}`);
      }
      return { dtype, shape, data };
    }
    default: {
      // INT8/INT16/INT32 (int_contents) and UINT8/UINT16/UINT32 (uint_contents): check the range.
      const data = allocate(dtype, n) as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i] as number;
        data[i] = v;
        if (data[i] !== v) throw bad(protocol, `input "${name}" element ${i} (${v}) is out of range for ${datatype}`);
      }
      return { dtype, shape, data };
    }
  }
}

/** A tensor as typed contents (the field that matches its dtype). FP16 has none: use raw contents. */
export function contentsFromTensor(t: Tensor): InferTensorContents {
  const field = FIELD_OF[t.dtype];
  if (!field) throw ferry('FERRY_E_INTERNAL', { detail: `${datatypeOf(t.dtype)} tensors have no typed contents field` });
  switch (t.dtype) {
    case 'string':
      return { bytes_contents: (t.data as readonly string[]).map((s) => Buffer.from(s, 'utf8')) };
    case 'bool':
      return { bool_contents: Array.from(t.data as Uint8Array, (b) => b !== 0) };
    case 'int64':
    case 'uint64':
      return { [field]: Array.from(t.data as BigInt64Array, (v) => v.toString()) };
    default:
      return { [field]: Array.from(t.data as Float32Array) };
  }
}

function bad(protocol: string, detail: string) {
  return ferry('FERRY_E_REQUEST_INVALID', { protocol, detail });
}
