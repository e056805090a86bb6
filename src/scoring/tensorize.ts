import { describeDType, integerRange, isFloatType, isIntegerType, type DType } from '../core/dtype.js';
import { ferry, type FerryError } from '../core/errors.js';
import { flattenNested } from '../core/nested.js';
import type { Cell, Frame } from '../core/frame.js';
import { describeShape, rowShape } from '../core/signature.js';
import { allocate, type Tensor, type TensorData } from '../core/tensor.js';
import type { InputBinding, InputPlan } from './input-plan.js';

/** A row that failed validation: its position in the input and why. */
export interface Reject {
  /** 0-based row index in the scored batch. */
  readonly row: number;
  readonly error: FerryError;
}

/** A converted element, or the reason the cell cannot be one. */
type Converted = number | bigint | string | null | FerryError;

/**
 * Validate every row against the plan's dtypes and widths. Returns the rows that passed
 * (by index) and a reject for each that did not; a bad row never stops the others.
 */
export function validateRows(plan: InputPlan, frame: Frame): { valid: number[]; rejects: Reject[]; values: ConvertedColumns } {
  const values: ConvertedColumns = new Map();
  const firstError = new Map<number, FerryError>();
  for (const binding of plan.bindings) {
    const rows = new Array<readonly (number | bigint | string | null)[] | undefined>(frame.length);
    for (let r = 0; r < frame.length; r++) {
      const result = rowValues(binding, frame, r);
      if (result instanceof Array) rows[r] = result;
      else if (!firstError.has(r)) firstError.set(r, result);
    }
    values.set(binding.spec.name, rows);
  }
  const valid: number[] = [];
  const rejects: Reject[] = [];
  for (let r = 0; r < frame.length; r++) {
    const error = firstError.get(r);
    if (error) rejects.push({ row: r, error });
    else valid.push(r);
  }
  return { valid, rejects, values };
}

/** Per input, per row, the converted elements (undefined for a rejected row). */
export type ConvertedColumns = Map<string, (readonly (number | bigint | string | null)[] | undefined)[]>;

/** Pack the given rows of validated values into one tensor per input. */
export function packTensors(plan: InputPlan, values: ConvertedColumns, rows: readonly number[]): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const { spec, width } of plan.bindings) {
    const perRow = values.get(spec.name) ?? [];
    const w = width ?? perRow[rows[0] ?? 0]?.length ?? 0;
    const data = allocate(spec.dtype, rows.length * w);
    rows.forEach((r, i) => {
      const elements = perRow[r] ?? [];
      for (let j = 0; j < w; j++) setElement(data, i * w + j, elements[j] === undefined ? 0 : elements[j]!);
    });
    const tail = rowShape(spec).map((d) => (d < 0 ? w : d));
    tensors[spec.name] = { dtype: spec.dtype, shape: [rows.length, ...(spec.shape.length <= 1 ? [] : tail)], data };
  }
  return tensors;
}

function setElement(data: TensorData, index: number, value: number | bigint | string | null): void {
  if (Array.isArray(data)) (data as (string | null)[])[index] = value === null ? null : String(value);
  else if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[index] = typeof value === 'bigint' ? value : BigInt(value ?? 0);
  else (data as Float32Array)[index] = value === null ? Number.NaN : Number(value);
}

function rowValues(binding: InputBinding, frame: Frame, row: number): (number | bigint | string | null)[] | FerryError {
  const { spec, source, width } = binding;
  let cells: { column: string; cell: Cell }[];
  if (source.kind === 'columns') {
    cells = source.columns.map((column) => ({ column, cell: frame.column(column)?.[row] ?? null }));
  } else {
    const cell = frame.column(source.column)?.[row] ?? null;
    const flat = (flattenNested(cell) ?? [cell]) as Cell[];
    if (width !== undefined && flat.length !== width) {
      return ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `${width} value(s) per row (shape ${describeShape(spec.shape)})`, actual: `${flat.length} in row ${row + 1}` });
    }
    cells = flat.map((c) => ({ column: source.column, cell: c }));
  }
  const out: (number | bigint | string | null)[] = [];
  for (const { column, cell } of cells) {
    const v = convert(cell, spec.dtype, spec.nullable === true);
    if (v !== null && typeof v === 'object') return v;
    if (v === MISSING) return ferry('FERRY_E_VALUE_MISSING', { row: row + 1, column, expected: describeDType(spec.dtype) });
    if (v === INVALID) return ferry('FERRY_E_VALUE_TYPE', { row: row + 1, column, expected: describeDType(spec.dtype), actual: describeCell(cell) });
    out.push(v);
  }
  return out;
}

const MISSING = Symbol('missing');
const INVALID = Symbol('invalid');

/** One cell as an element of `dtype`, or why not. CSV cells arrive as strings. */
function convert(cell: Cell, dtype: DType, nullable: boolean): Converted | typeof MISSING | typeof INVALID {
  if (cell === null || (typeof cell === 'string' && cell.trim() === '' && dtype !== 'string')) {
    if (nullable && dtype === 'string') return null; // a missing text value (PMML inputs)
    return nullable && isFloatType(dtype) ? Number.NaN : MISSING;
  }
  if (Array.isArray(cell)) return INVALID;
  if (dtype === 'string') return typeof cell === 'string' ? cell : typeof cell === 'number' || typeof cell === 'bigint' ? String(cell) : INVALID;
  if (dtype === 'bool') return toBool(cell);
  if (typeof cell === 'boolean') return INVALID;
  if (isFloatType(dtype)) {
    const n = typeof cell === 'string' ? parseNumber(cell) : Number(cell);
    if (Number.isNaN(n) && !(nullable && typeof cell === 'string' && /^\s*nan\s*$/i.test(cell))) return INVALID;
    return n;
  }
  if (isIntegerType(dtype)) {
    if (typeof cell === 'bigint') return dtype.endsWith('64') ? cell : Number(cell);
    const n = typeof cell === 'string' ? parseNumber(cell) : cell;
    const [lo, hi] = integerRange(dtype);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) return INVALID;
    return dtype.endsWith('64') ? BigInt(n) : n;
  }
  return INVALID;
}

function parseNumber(text: string): number {
  const t = text.trim();
  // Number('') is 0 and Number('0x1F') is 31: accept only decimal notation.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    return Number.NaN;
  }
  return Number(t);
}

function toBool(cell: Cell): number | typeof INVALID {
  if (cell === true || cell === 1) return 1;
  if (cell === false || cell === 0) return 0;
  if (typeof cell === 'string') {
    const t = cell.trim().toLowerCase();
    if (t === 'true' || t === '1') return 1;
    if (t === 'false' || t === '0') return 0;
  }
  return INVALID;
}

/**
 * What kind of value came, never the value itself: messages end up in logs and HTTP
 * responses, and the data may be personal. Row and column locate the cell.
 */
function describeCell(cell: Cell): string {
  if (Array.isArray(cell)) return `a list of ${cell.length}`;
  if (typeof cell === 'string') return /^\s*[+-]?(\d|\.\d)/.test(cell) ? 'text that is not a plain decimal number' : 'text';
  if (typeof cell === 'number') return Number.isInteger(cell) ? 'an integer out of range' : 'a fractional number';
  if (typeof cell === 'boolean') return 'a boolean';
  return typeof cell;
}

