import { describeDType, integerRange, isFloatType, type DType } from '../core/dtype.js';
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
 * One input's converted values: a dense row-major buffer, or (free width) one array per row, packed
 * for the rows given (the first one's width is the tensor's).
 */
type InputValues =
  | { readonly kind: 'dense'; readonly data: TensorData; readonly width: number }
  | { readonly kind: 'rows'; readonly pack: (rows: readonly number[]) => { readonly data: TensorData; readonly width: number } };

type Fail = (r: number, error: FerryError) => void;

/** Per input, its converted values (entries of rejected rows are meaningless). */
export type ConvertedColumns = Map<string, InputValues>;

/**
 * Validate every row against the plan's dtypes and widths, column by column: a number column
 * goes straight into the input's buffer. Returns the rows that passed (by index) and a reject
 * for each that did not; a bad row never stops the others. A row's reason is its first bad
 * cell in input, then column, order.
 */
export function validateRows(plan: InputPlan, frame: Frame): { valid: number[]; rejects: Reject[]; values: ConvertedColumns } {
  const values: ConvertedColumns = new Map();
  const errors = new Array<FerryError | undefined>(frame.length);
  const fail = (r: number, error: FerryError): void => {
    if (errors[r] === undefined) errors[r] = error;
  };
  for (const binding of plan.bindings) {
    const kind = binding.source.kind === 'columns' ? 'columns' : binding.width !== undefined ? 'cells' : 'rows';
    values.set(binding.spec.name, READERS[kind](binding, frame, fail));
  }
  const valid: number[] = [];
  const rejects: Reject[] = [];
  for (let r = 0; r < frame.length; r++) {
    const error = errors[r];
    if (error) rejects.push({ row: r, error });
    else valid.push(r);
  }
  return { valid, rejects, values };
}

/**
 * How each kind of input is read from the Frame, one entry a line: mapped columns, a cell per row of
 * a width the shape fixes, or of a free width. An exported package keeps the kinds its model's
 * inputs can take (src/edge/narrowing.ts).
 */
const READERS: Readonly<Record<'columns' | 'cells' | 'rows', (binding: InputBinding, frame: Frame, fail: Fail) => InputValues>> = {
  columns: readColumns,
  cells: readCells,
  rows: readRows,
};

function readColumns({ spec, source }: InputBinding, frame: Frame, fail: Fail): InputValues {
  const columns = source.kind === 'columns' ? source.columns : [];
  const w = columns.length;
  const data = allocate(spec.dtype, frame.length * w);
  columns.forEach((column, j) => fillColumn(data, w, j, frame, column, spec.dtype, spec.nullable === true, fail));
  return { kind: 'dense', data, width: w };
}

function readCells(binding: InputBinding, frame: Frame, fail: Fail): InputValues {
  const { spec, source } = binding;
  const width = binding.width ?? 0;
  const data = allocate(spec.dtype, frame.length * width);
  // One value a row (a PMML field, a `[-1]` input) and no list among them: filled as a mapped column is,
  // from the typed array of a number column, else cell by cell with no array per cell.
  if (width === 1 && source.kind === 'cell' && (frame.vector(source.column)?.kind === 'number' || !frame.column(source.column)?.some(Array.isArray))) {
    fillColumn(data, 1, 0, frame, source.column, spec.dtype, spec.nullable === true, fail);
    return { kind: 'dense', data, width };
  }
  const cells = source.kind === 'cell' ? frame.column(source.column) : undefined;
  for (let r = 0; r < frame.length; r++) {
    const result = cellValues(binding, cells?.[r] ?? null, r);
    // A null element is a missing value (NaN, or null text), not 0.
    if (result instanceof Array) {
      for (let j = 0; j < width; j++) {
        const v = result[j];
        setElement(data, r * width + j, v === undefined ? 0 : v);
      }
    } else {
      fail(r, result);
    }
  }
  return { kind: 'dense', data, width };
}

function readRows(binding: InputBinding, frame: Frame, fail: Fail): InputValues {
  const { spec, source } = binding;
  const cells = source.kind === 'cell' ? frame.column(source.column) : undefined;
  const perRow = new Array<readonly (number | bigint | string | null)[] | undefined>(frame.length);
  for (let r = 0; r < frame.length; r++) {
    const result = cellValues(binding, cells?.[r] ?? null, r);
    if (result instanceof Array) perRow[r] = result;
    else fail(r, result);
  }
  const pack = (rows: readonly number[]): { data: TensorData; width: number } => {
    const w = perRow[rows[0] ?? 0]?.length ?? 0;
    const data = allocate(spec.dtype, rows.length * w);
    rows.forEach((r, i) => {
      const elements = perRow[r] ?? [];
      for (let j = 0; j < w; j++) setElement(data, i * w + j, elements[j] === undefined ? 0 : elements[j]!);
    });
    return { data, width: w };
  };
  return { kind: 'rows', pack };
}

/**
 * Element `j` of every row from one Frame column. A number column feeds a float input
 * without a cell per value; anything else is converted cell by cell.
 */
function fillColumn(data: TensorData, w: number, j: number, frame: Frame, column: string, dtype: DType, nullable: boolean, fail: (r: number, e: FerryError) => void): void {
  const col = frame.vector(column);
  const n = frame.length;
  if (col?.kind === 'number' && (data instanceof Float32Array || data instanceof Float64Array)) {
    const { values, valid } = col;
    for (let r = 0; r < n; r++) {
      const v = values[r] as number;
      if (valid !== undefined && valid[r] === 0) {
        if (nullable) data[r * w + j] = Number.NaN;
        else fail(r, ferry('FERRY_E_VALUE_MISSING', { row: r + 1, column, expected: describeDType(dtype) }));
      } else if (v !== v) {
        fail(r, ferry('FERRY_E_VALUE_TYPE', { row: r + 1, column, expected: describeDType(dtype), actual: describeCell(v) }));
      } else {
        data[r * w + j] = v;
      }
    }
    return;
  }
  const cells = frame.column(column);
  for (let r = 0; r < n; r++) {
    const cell = cells?.[r] ?? null;
    const v = convert(cell, dtype, nullable);
    if (v === MISSING) fail(r, ferry('FERRY_E_VALUE_MISSING', { row: r + 1, column, expected: describeDType(dtype) }));
    else if (v === INVALID) fail(r, ferry('FERRY_E_VALUE_TYPE', { row: r + 1, column, expected: describeDType(dtype), actual: describeCell(cell) }));
    else if (v !== null && typeof v === 'object') fail(r, v);
    else setElement(data, r * w + j, v);
  }
}

/**
 * Pack the given rows of validated values into one tensor per input. With `total` (the Frame's
 * length) and every row given, the buffers are used as they are, without a copy.
 */
export function packTensors(plan: InputPlan, values: ConvertedColumns, rows: readonly number[], total?: number): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const { spec } of plan.bindings) {
    const input = values.get(spec.name);
    let data: TensorData;
    let w: number;
    if (input?.kind === 'dense') {
      w = input.width;
      data = rows.length === total ? input.data : gather(spec.dtype, input.data, w, rows);
    } else {
      ({ data, width: w } = input ? input.pack(rows) : { data: allocate(spec.dtype, 0), width: 0 });
    }
    const tail = rowShape(spec).map((d) => (d < 0 ? w : d));
    tensors[spec.name] = { dtype: spec.dtype, shape: [rows.length, ...(spec.shape.length <= 1 ? [] : tail)], data };
  }
  return tensors;
}

function gather(dtype: DType, data: TensorData, w: number, rows: readonly number[]): TensorData {
  const out = allocate(dtype, rows.length * w);
  if (dtype === 'string') {
    const src = data as readonly (string | null)[];
    const dst = out as (string | null)[];
    rows.forEach((r, i) => { for (let j = 0; j < w; j++) dst[i * w + j] = src[r * w + j] ?? null; });
    return dst as readonly string[];
  }
  const src = data as Exclude<TensorData, readonly string[]>;
  const dst = out as Exclude<TensorData, readonly string[]>;
  rows.forEach((r, i) => dst.set(src.subarray(r * w, r * w + w) as never, i * w));
  return out;
}

function setElement(data: TensorData, index: number, value: number | bigint | string | null): void {
  if (Array.isArray(data)) (data as (string | null)[])[index] = value === null ? null : String(value);
  else if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[index] = typeof value === 'bigint' ? value : BigInt(value ?? 0);
  else (data as Float32Array)[index] = value === null ? Number.NaN : Number(value);
}

/** The elements of one row of a whole-row cell input, or why it cannot be one. */
function cellValues(binding: InputBinding, cell: Cell, row: number): (number | bigint | string | null)[] | FerryError {
  const { spec, source, width } = binding;
  const column = source.kind === 'cell' ? source.column : spec.name;
  const flat = (flattenNested(cell) ?? [cell]) as Cell[];
  if (width !== undefined && flat.length !== width) {
    return ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `${width} value(s) per row (shape ${describeShape(spec.shape)})`, actual: `${flat.length} in row ${row + 1}` });
  }
  const out: (number | bigint | string | null)[] = [];
  for (const [j, c] of flat.entries()) {
    const v = convert(c, spec.dtype, spec.nullable === true);
    if (v !== null && typeof v === 'object') return v;
    if (v === MISSING) return ferry('FERRY_E_VALUE_MISSING', { row: row + 1, column: elementName(spec, column, j, flat.length), expected: describeDType(spec.dtype) });
    if (v === INVALID) return ferry('FERRY_E_VALUE_TYPE', { row: row + 1, column: elementName(spec, column, j, flat.length), expected: describeDType(spec.dtype), actual: describeCell(c) });
    out.push(v);
  }
  return out;
}

/**
 * Element `j` of a row given whole (`[30 numbers]`): the column the signature maps it to, else
 * `input[j]` — the cell's column alone would not say which of its values is wrong.
 */
function elementName(spec: InputBinding['spec'], column: string, j: number, n: number): string {
  if (n <= 1) return column;
  const mapped = spec.columns?.length === n ? spec.columns[j] : undefined;
  return mapped !== undefined ? `${column}[${j}] (${mapped})` : `${column}[${j}]`;
}

const MISSING = Symbol('missing');
const INVALID = Symbol('invalid');

/** One cell as an element of `dtype`, or why not. CSV cells arrive as strings. */
function convert(cell: Cell, dtype: DType, nullable: boolean): Converted | typeof MISSING | typeof INVALID {
  if (cell === null || (typeof cell === 'string' && cell.trim() === '' && dtype !== 'string')) {
    if (nullable && dtype === 'string') return null; // a missing text value (PMML inputs)
    return nullable && isFloatType(dtype) ? Number.NaN : MISSING;
  }
  if (typeof cell === 'object') return INVALID; // a list
  const to = Object.hasOwn(CONVERTERS, dtype) ? CONVERTERS[dtype] : undefined;
  return to ? to(cell, dtype, nullable) : INVALID;
}

/** A present cell (not null, not a list) as an element of `dtype`, or INVALID. */
type Converter = (cell: string | number | boolean | bigint, dtype: DType, nullable: boolean) => Converted | typeof INVALID;

const toText: Converter = (cell) => (typeof cell === 'string' ? cell : typeof cell === 'number' || typeof cell === 'bigint' ? String(cell) : INVALID);

const toFloat: Converter = (cell, _dtype, nullable) => {
  if (typeof cell === 'boolean') return INVALID;
  // A number is returned as it is, not converted (a number converted and returned is boxed anew).
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' ? parseNumber(cell) : Number(cell);
  if (Number.isNaN(n) && !(nullable && typeof cell === 'string' && /^\s*nan\s*$/i.test(cell))) return INVALID;
  return n;
};

const toInteger: Converter = (cell, dtype) => {
  if (typeof cell === 'boolean') return INVALID;
  if (typeof cell === 'bigint') return dtype.endsWith('64') ? cell : Number(cell);
  const n = typeof cell === 'string' ? parseNumber(cell) : cell;
  const [lo, hi] = integerRange(dtype);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) return INVALID;
  return dtype.endsWith('64') ? BigInt(n) : n;
};

/**
 * The converter of each dtype, one entry a line: an exported package keeps the dtypes its model's
 * inputs take (src/edge/narrowing.ts).
 */
const CONVERTERS: Readonly<Record<DType, Converter>> = {
  string: toText,
  bool: (cell) => toBool(cell),
  float16: toFloat,
  float32: toFloat,
  float64: toFloat,
  int8: toInteger,
  int16: toInteger,
  int32: toInteger,
  int64: toInteger,
  uint8: toInteger,
  uint16: toInteger,
  uint32: toInteger,
  uint64: toInteger,
};

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

