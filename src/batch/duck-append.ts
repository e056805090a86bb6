import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBConnection } from '@duckdb/node-api';
import type { TableColumn, OutputTable } from '../data/output-table.js';
import { sqlIdent, sqlString } from './duckdb.js';

/** How one output column goes into a DuckDB data chunk, memory to memory. */
interface ColumnWriter {
  /** The column's type in the staging table. */
  readonly type: string;
  /** Fill `vector` with rows [from, from + count). */
  fill(vector: duckdb.Vector, from: number, count: number): void;
}

/** Text in the COPY's select for a column with one value for every row. */
type Constant = { readonly sql: string };

const SAFE_INT = 2 ** 53;

/**
 * Write a table to a file DuckDB writes (Parquet; COPY options `copy`) without text in between: the columns are copied into
 * data chunks (numbers and lists straight from the model's output tensors, one memory copy per
 * vector), appended to a staging table, and written with COPY; one-value columns (model, run,
 * time) are literals in the COPY's select. Returns false, having written nothing, for a table
 * with a column it does not handle (the caller stages it as JSON Lines instead): mixed-type
 * cells, nested outputs, non-finite floats — whatever JSON Lines would turn into something else.
 */
export async function writeDuckColumns(duck: DuckDBConnection, path: string, table: OutputTable, staging: string, copy = 'format parquet'): Promise<boolean> {
  const plans = table.columns.map((c) => planColumn(c, table.length));
  if (plans.some((p) => p === undefined)) return false;
  const writers = plans.filter((p): p is ColumnWriter => p !== undefined && 'fill' in p);
  if (writers.length === 0) return false;
  const name = sqlIdent(staging);
  await duck.run(`create or replace temp table ${name} (${writers.map((w, i) => `c${i} ${w.type}`).join(', ')})`);
  try {
    const appender = await duck.createAppender(staging);
    try {
      const types = writers.map((_, i) => appender.columnType(i));
      const size = duckdb.vector_size();
      for (let from = 0; from < table.length; from += size) {
        const count = Math.min(size, table.length - from);
        const chunk = DuckDBDataChunk.create(types);
        writers.forEach((w, i) => w.fill(duckdb.data_chunk_get_vector(chunk.chunk, i), from, count));
        chunk.rowCount = count;
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    let w = 0;
    const select = plans.map((p, i) => `${p && 'sql' in p ? p.sql : `c${w++}`} as ${sqlIdent(table.columns[i]?.name ?? '')}`);
    await duck.run(`copy (select ${select.join(', ')} from ${name}) to ${sqlString(path)} (${copy})`);
  } finally {
    await duck.run(`drop table if exists ${name}`);
  }
  return true;
}

function planColumn(column: TableColumn, length: number): ColumnWriter | Constant | undefined {
  const { data, type } = column;
  if (data.kind === 'constant') return constantSql(data.value, type);
  if (data.kind === 'tensor') {
    const { tensor, rowShape } = data;
    const values = tensor.data;
    if ((values instanceof Float32Array || values instanceof Float64Array) && type === 'DOUBLE' + '[]'.repeat(rowShape.length) && rowShape.length <= 1) {
      for (let i = 0; i < length * (rowShape[0] ?? 1); i++) if ((values[i] as number) - (values[i] as number) !== 0) return undefined;
      return rowShape.length === 0 ? doubles((from, count, out) => { for (let r = 0; r < count; r++) out[r] = values[from + r] as number; }, type) : doubleLists(values, rowShape[0] ?? 0, type);
    }
    if (values instanceof BigInt64Array && type === 'BIGINT' && rowShape.length === 0) return bigints((from, count, out) => out.set(values.subarray(from, from + count)), undefined);
    if ((values instanceof Int32Array || values instanceof Int16Array || values instanceof Int8Array || values instanceof Uint8Array || values instanceof Uint16Array || values instanceof Uint32Array) && type === 'BIGINT' && rowShape.length === 0 && tensor.dtype !== 'bool') {
      return bigints((from, count, out) => { for (let r = 0; r < count; r++) out[r] = BigInt(values[from + r] as number); }, undefined);
    }
    return undefined;
  }
  const cells = data.values;
  if (type === 'BIGINT') {
    for (let r = 0; r < length; r++) {
      const v = cells[r];
      if (!(v === null || v === undefined || typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < SAFE_INT))) return undefined;
    }
    return bigints((from, count, out) => { for (let r = 0; r < count; r++) { const v = cells[from + r]; out[r] = typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : 0n; } }, (r) => cells[r] !== null && cells[r] !== undefined);
  }
  if (type === 'DOUBLE') {
    for (let r = 0; r < length; r++) {
      const v = cells[r];
      if (!(v === null || v === undefined || (typeof v === 'number' && Number.isFinite(v)))) return undefined;
    }
    return doubles((from, count, out) => { for (let r = 0; r < count; r++) out[r] = (cells[from + r] as number | null) ?? 0; }, type, (r) => typeof cells[r] === 'number');
  }
  if (type === 'VARCHAR') {
    for (let r = 0; r < length; r++) {
      const v = cells[r];
      if (!(v === null || v === undefined || typeof v === 'string')) return undefined;
    }
    return {
      type,
      fill(vector, from, count) {
        setValidity(vector, from, count, (r) => typeof cells[r] === 'string');
        for (let r = 0; r < count; r++) {
          const v = cells[from + r];
          if (typeof v === 'string') duckdb.vector_assign_string_element(vector, r, v);
        }
      },
    };
  }
  return undefined;
}

/** A one-value column as a literal of its type (what JSON Lines staging read back: null stays null). */
function constantSql(value: unknown, type: string): Constant | undefined {
  if (value === null || value === undefined) return { sql: `null::${type}` };
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return { sql: `cast(${sqlString(String(value))} as ${type})` };
  return undefined;
}

function doubles(copy: (from: number, count: number, out: Float64Array) => void, type: string, present?: (row: number) => boolean): ColumnWriter {
  return {
    type,
    fill(vector, from, count) {
      const out = new Float64Array(count);
      copy(from, count, out);
      duckdb.copy_data_to_vector(vector, 0, out.buffer, 0, out.byteLength);
      if (present) setValidity(vector, from, count, present);
    },
  };
}

function bigints(copy: (from: number, count: number, out: BigInt64Array) => void, present: ((row: number) => boolean) | undefined): ColumnWriter {
  return {
    type: 'BIGINT',
    fill(vector, from, count) {
      const out = new BigInt64Array(count);
      copy(from, count, out);
      duckdb.copy_data_to_vector(vector, 0, out.buffer, 0, out.byteLength);
      if (present) setValidity(vector, from, count, present);
    },
  };
}

/** A list column of `width` doubles per row: (offset, length) entries, then the child values. */
function doubleLists(values: Float32Array | Float64Array, width: number, type: string): ColumnWriter {
  return {
    type,
    fill(vector, from, count) {
      const entries = new BigUint64Array(count * 2);
      for (let r = 0; r < count; r++) {
        entries[2 * r] = BigInt(r * width);
        entries[2 * r + 1] = BigInt(width);
      }
      duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, entries.byteLength);
      duckdb.list_vector_reserve(vector, count * width);
      duckdb.list_vector_set_size(vector, count * width);
      const child = Float64Array.from(values.subarray(from * width, (from + count) * width));
      duckdb.copy_data_to_vector(duckdb.list_vector_get_child(vector), 0, child.buffer, 0, child.byteLength);
    },
  };
}

/** Mark the rows `present` says are missing as NULL. */
function setValidity(vector: duckdb.Vector, from: number, count: number, present: (row: number) => boolean): void {
  let missing = false;
  for (let r = 0; r < count && !missing; r++) missing = !present(from + r);
  if (!missing) return;
  duckdb.vector_ensure_validity_writable(vector);
  const mask = new Uint8Array(Math.ceil(count / 64) * 8);
  for (let r = 0; r < count; r++) if (present(from + r)) mask[r >> 3] = (mask[r >> 3] ?? 0) | (1 << (r & 7));
  duckdb.copy_data_to_vector_validity(vector, 0, mask.buffer, 0, mask.byteLength);
}
