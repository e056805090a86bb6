import { endianness } from 'node:os';
import type { Tensor } from '../core/tensor.js';
import { elementAt } from '../core/tensor.js';
import type { OutputRecord } from './writers.js';

/** A column of the output and its type (DuckDB type names: BIGINT, DOUBLE, VARCHAR, DOUBLE[] …). */
export interface OutputColumnSpec {
  readonly name: string;
  readonly type: string;
}

/** Where one output column's values are: cells per row, a model output tensor, or one value for every row. */
export type TableData =
  | { readonly kind: 'cells'; readonly values: readonly unknown[] }
  | { readonly kind: 'tensor'; readonly tensor: Tensor; readonly rowShape: readonly number[] }
  | { readonly kind: 'constant'; readonly value: unknown };

export interface TableColumn extends OutputColumnSpec {
  readonly data: TableData;
}

/**
 * The rows a chunk writes, kept by column: carried cells, the model's output tensors as they
 * came from the runtime, and the run's metadata once per chunk. Writers serialise it column
 * by column; only the PostgreSQL sink (whose driver takes rows) builds one object per row.
 */
export interface OutputTable {
  readonly length: number;
  readonly columns: readonly TableColumn[];
}

/** A table over records (rejected rows, which are few). */
export function recordsTable(records: readonly OutputRecord[], columns: readonly OutputColumnSpec[]): OutputTable {
  return { length: records.length, columns: columns.map((c) => ({ ...c, data: { kind: 'cells', values: records.map((r) => r[c.name] ?? null) } })) };
}

/** Row r of a column as a JSON-friendly value (nested arrays for multi-valued outputs). */
export function valueAt(data: TableData, r: number): unknown {
  switch (data.kind) {
    case 'cells': {
      const v = data.values[r];
      return typeof v === 'bigint' ? Number(v) : v ?? null;
    }
    case 'constant': return data.value;
    case 'tensor': {
      if (data.rowShape.length === 0) return elementAt(data.tensor, r);
      const size = data.rowShape.reduce((a, b) => a * b, 1);
      return nest(data.tensor, r * size, data.rowShape);
    }
  }
}

function nest(tensor: Tensor, offset: number, shape: readonly number[]): unknown[] {
  const [dim = 0, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  const out = new Array<unknown>(dim);
  for (let i = 0; i < dim; i++) out[i] = rest.length === 0 ? elementAt(tensor, offset + i) : nest(tensor, offset + i * stride, rest);
  return out;
}

/** Rows as objects, for drivers that take rows (PostgreSQL). */
export function tableRecords(table: OutputTable): OutputRecord[] {
  const out: OutputRecord[] = new Array<OutputRecord>(table.length);
  for (let r = 0; r < table.length; r++) {
    const record: Record<string, unknown> = {};
    for (const c of table.columns) record[c.name] = valueAt(c.data, r);
    out[r] = record;
  }
  return out;
}

/**
 * Text written a line at a time into one growing buffer (UTF-8). A chunk's text grown by `+=` is
 * a rope of hundreds of thousands of pieces that `Buffer.from` flattens and encodes at ~1.5 µs a
 * row (measured: the largest native cost of a CSV → CSV run); writing each line costs ~0.3 µs.
 */
class LineBuffer {
  #buf: Buffer;
  #length = 0;

  constructor(sizeHint: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const need = this.#length + 3 * text.length;
    if (need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, need));
      this.#buf.copy(grown, 0, 0, this.#length);
      this.#buf = grown;
    }
    this.#length += this.#buf.write(text, this.#length);
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }
}

/** JSON Lines (UTF-8), one object per row, keys in column order (as `JSON.stringify` of the record would give). */
export function formatJsonl(table: OutputTable): Buffer {
  const parts = table.columns.map((c, i) => ({ key: `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`, text: jsonColumn(c.data, table.length) }));
  const out = new LineBuffer(table.length * 128);
  for (let r = 0; r < table.length; r++) {
    let line = '';
    for (const p of parts) line += p.key + p.text(r);
    out.write(`${line}}\n`);
  }
  return out.bytes();
}

function jsonColumn(data: TableData, n: number): (r: number) => string {
  if (data.kind === 'constant') {
    const text = JSON.stringify(data.value ?? null);
    return () => text;
  }
  if (data.kind === 'tensor' && data.rowShape.length === 0 && isFloat(data.tensor)) {
    const values = data.tensor.data as Float32Array | Float64Array;
    return (r) => {
      const v = values[r] as number;
      return Number.isFinite(v) ? String(v) : 'null';
    };
  }
  void n;
  return (r) => JSON.stringify(valueAt(data, r) ?? null);
}

/**
 * CSV (UTF-8) with a header; multi-valued outputs are expanded into `name_0`, `name_1`… (`name_0_1`
 * when nested), text is quoted when it holds a comma, quote or line break — the same text the
 * record writer gives.
 */
export function formatCsv(table: OutputTable, header = true): Buffer {
  const fields: CsvField[] = [];
  for (const c of table.columns) fields.push(...csvFields(c));
  // A run of one-value fields (model, version, run, time) is written as one piece of text.
  const texts: ((r: number) => string)[] = [];
  const before: string[] = [];
  let pending = '';
  fields.forEach((f, i) => {
    const comma = i === 0 ? '' : ',';
    if (f.constant !== undefined) {
      pending += comma + f.constant;
      return;
    }
    before.push(pending + comma);
    texts.push(f.text);
    pending = '';
  });
  const end = `${pending}\n`;
  const out = new LineBuffer(table.length * (end.length + 16 * texts.length));
  if (header) out.write(`${fields.map((f) => csvQuote(f.name)).join(',')}\n`);
  const n = texts.length;
  for (let r = 0; r < table.length; r++) {
    let line = '';
    for (let i = 0; i < n; i++) line += (before[i] as string) + (texts[i] as (r: number) => string)(r);
    out.write(line + end);
  }
  return out.bytes();
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** One CSV field: its text per row, or one text for every row. */
interface CsvField {
  readonly name: string;
  readonly text: (r: number) => string;
  readonly constant?: string;
}

function csvFields(column: TableColumn): CsvField[] {
  const { data, name } = column;
  if (data.kind === 'constant') {
    if (Array.isArray(data.value)) return flatFields(name, () => data.value).map((f) => ({ ...f, constant: f.text(0) }));
    const text = csvText(data.value);
    return [{ name, text: () => text, constant: text }];
  }
  if (data.kind === 'tensor') {
    const { tensor, rowShape } = data;
    const size = rowShape.reduce((a, b) => a * b, 1);
    const names = rowShape.length === 0 ? [name] : expandNames(name, rowShape);
    const float = isFloat(tensor) ? (tensor.data as Float32Array | Float64Array) : undefined;
    // int64 as two 32-bit halves: hi * 2^32 + lo rounds once, as Number(bigint) does, without a BigInt per value.
    const int64 = tensor.data instanceof BigInt64Array && LITTLE_ENDIAN ? new Int32Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.length * 2) : undefined;
    return names.map((field, k) => ({
      name: field,
      text: float
        ? (r: number) => {
          const v = float[r * size + k] as number;
          return v - v === 0 ? String(v) : '';
        }
        : int64
          ? (r: number) => {
            const i = 2 * (r * size + k);
            return String((int64[i + 1] as number) * 4294967296 + ((int64[i] as number) >>> 0));
          }
          : (r: number) => csvText(elementAt(tensor, r * size + k)),
    }));
  }
  const sample = data.values.find((v) => v !== null && v !== undefined);
  if (Array.isArray(sample)) return flatFields(name, (r) => data.values[r]);
  const values = data.values;
  return [{ name, text: (r) => { const v = values[r]; return typeof v === 'number' ? (v - v === 0 ? String(v) : '') : csvText(v); } }];
}

/** Cells holding arrays: one field per element of the first array (as the record writer's header would list them). */
function flatFields(name: string, at: (r: number) => unknown): { name: string; text: (r: number) => string }[] {
  const paths: number[][] = [];
  const walk = (v: unknown, path: number[]): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else paths.push(path);
  };
  walk(at(0), []);
  return paths.map((path) => ({
    name: [name, ...path].join('_'),
    text: (r) => {
      let v: unknown = at(r);
      for (const i of path) v = Array.isArray(v) ? v[i] : undefined;
      return csvText(v);
    },
  }));
}

function expandNames(name: string, shape: readonly number[]): string[] {
  if (shape.length === 0) return [name];
  const [dim = 0, ...rest] = shape;
  const out: string[] = [];
  for (let i = 0; i < dim; i++) out.push(...expandNames(`${name}_${i}`, rest));
  return out;
}

function isFloat(tensor: Tensor): boolean {
  return tensor.data instanceof Float32Array || tensor.data instanceof Float64Array;
}

function csvText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'bigint') return String(Number(value));
  const text = typeof value === 'string' ? value : typeof value === 'boolean' ? String(value) : JSON.stringify(value) ?? '';
  return csvQuote(text);
}

function csvQuote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
