import { ferry } from '../core/errors.js';
import type { TensorSpec } from '../core/signature.js';
import { elementAt, type Tensor } from '../core/tensor.js';

/** A JSON-friendly value of one row of one output. */
export type OutputValue = number | string | boolean | null | OutputValue[];

/**
 * One model output of a batch. It stays columnar: `tensor` holds every row's value (row r is
 * the r-th slice along the first axis); `values` splits it into one JSON-friendly value per row,
 * built the first time a protocol asks for it.
 */
export interface OutputColumn {
  readonly name: string;
  readonly dtype: TensorSpec['dtype'];
  /** Shape of one row's value ([] for a scalar). */
  readonly rowShape: readonly number[];
  readonly values: OutputValue[];
  /** The batched output, when the batch had rows. */
  readonly tensor?: Tensor;
}

/**
 * An output tensor as a column, one entry per row: a scalar when a row holds one element
 * (shape [N] or [N,1]), else a nested array in the row's shape. Rows are split lazily.
 */
export function splitRows(name: string, tensor: Tensor, rows: number, label: string): OutputColumn {
  const [batch, ...rest] = tensor.shape;
  if (batch !== rows) {
    throw ferry('FERRY_E_PREDICTION_FAILED', { format: 'model', model: label, detail: `output "${name}" has shape [${tensor.shape.join(', ')}], not one entry per row (${rows} rows)` });
  }
  const size = rest.reduce((a, b) => a * b, 1);
  const scalar = size === 1;
  let values: OutputValue[] | undefined;
  return {
    name, dtype: tensor.dtype, rowShape: scalar ? [] : rest, tensor,
    get values(): OutputValue[] {
      values ??= rowValues(tensor, rows, size, scalar ? [] : rest);
      return values;
    },
  };
}

function rowValues(tensor: Tensor, rows: number, size: number, shape: readonly number[]): OutputValue[] {
  const values: OutputValue[] = new Array<OutputValue>(rows);
  for (let r = 0; r < rows; r++) values[r] = shape.length === 0 ? elementAt(tensor, r) : nest(tensor, r * size, shape);
  return values;
}

function nest(tensor: Tensor, offset: number, shape: readonly number[]): OutputValue[] {
  const [dim = 0, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  const out: OutputValue[] = new Array<OutputValue>(dim);
  for (let i = 0; i < dim; i++) {
    out[i] = rest.length === 0 ? elementAt(tensor, offset + i) : nest(tensor, offset + i * stride, rest);
  }
  return out;
}
