import duckdb from '@duckdb/node-bindings';
import { DuckDBTypeId, type DuckDBDataChunk } from '@duckdb/node-api';
import { numberColumn, type Cell, type FrameColumn } from '../core/frame.js';

/** How a builder reads its DuckDB column. */
export type DuckColumnKind =
  /** DOUBLE, copied from the vector's memory; a missing value asks `fallback` for its cell. */
  | 'double'
  /** DOUBLE that must be present and finite in every row: `add` reports a row that is not. */
  | 'strict-double'
  /** BIGINT, read from the vector's memory as bigint cells. */
  | 'bigint'
  /** Anything else, value by value through `cell`. */
  | 'cells';

/** The builder kind for a DuckDB column type (`strict`: a DOUBLE that must be finite everywhere). */
export function duckColumnKind(typeId: DuckDBTypeId | undefined, strict = false): DuckColumnKind {
  if (typeId === DuckDBTypeId.DOUBLE) return strict ? 'strict-double' : 'double';
  if (typeId === DuckDBTypeId.BIGINT) return 'bigint';
  return 'cells';
}

/**
 * Builds one Frame column from DuckDB result chunks. A DOUBLE column is copied out of the
 * chunk's vector memory in one `set` (no value objects, no accessor call per value), with its
 * validity bits as the Frame's mask; a BIGINT column is read from memory too; other columns go
 * value by value through `cell`.
 */
export class DuckColumnBuilder {
  readonly #capacity: number;
  readonly #kind: DuckColumnKind;
  #values: Float64Array;
  #valid: Uint8Array;
  #missing = 0;
  #cells: Cell[] = [];
  /** Cells standing in for missing doubles (CSV text that is not a number), by row. */
  #exceptions: Map<number, Cell> | undefined;

  constructor(kind: DuckColumnKind, capacity: number) {
    this.#kind = kind;
    this.#capacity = capacity;
    const typed = kind === 'double' || kind === 'strict-double';
    this.#values = new Float64Array(typed ? capacity : 0);
    this.#valid = new Uint8Array(typed ? capacity : 0);
  }

  /**
   * Rows [from, from + count) of column `index` of `chunk`, placed at `at`. For a DOUBLE
   * column, `fallback(row)` gives the cell of a row whose double is missing (undefined: missing).
   * Returns false (and keeps nothing) when a strict column has a missing or non-finite value.
   */
  add(chunk: DuckDBDataChunk, index: number, from: number, count: number, at: number, cell: (row: number) => Cell, fallback?: (row: number) => Cell | undefined): boolean {
    const kind = this.#kind;
    if (kind === 'cells') {
      for (let r = 0; r < count; r++) this.#cells[at + r] = cell(from + r);
      return true;
    }
    const size = chunk.rowCount;
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
    const bytes = duckdb.vector_get_data(vector, size * 8);
    const mask = duckdb.vector_get_validity(vector, Math.ceil(size / 64) * 8) as Uint8Array | null;
    if (kind === 'bigint') {
      const ints = bytes.byteOffset % 8 === 0 ? new BigInt64Array(bytes.buffer, bytes.byteOffset, size) : new BigInt64Array(bytes.slice().buffer);
      for (let r = 0; r < count; r++) {
        const i = from + r;
        this.#cells[at + r] = !mask || ((mask[i >> 3] ?? 0) >> (i & 7)) & 1 ? (ints[i] as bigint) : null;
      }
      return true;
    }
    const doubles = bytes.byteOffset % 8 === 0 ? new Float64Array(bytes.buffer, bytes.byteOffset, size) : new Float64Array(bytes.slice().buffer);
    const part = doubles.subarray(from, from + count);
    if (kind === 'strict-double') {
      if (mask) for (let i = from; i < from + count; i++) if ((((mask[i >> 3] ?? 0) >> (i & 7)) & 1) === 0) return false;
      // v - v is 0 for every finite number, NaN for NaN and ±Infinity.
      for (let r = 0; r < count; r++) {
        const v = part[r] as number;
        if (v - v !== 0) return false;
      }
    }
    this.#values.set(part, at);
    if (!mask) {
      this.#valid.fill(1, at, at + count);
      return true;
    }
    for (let r = 0; r < count; r++) {
      const i = from + r;
      const ok = ((mask[i >> 3] ?? 0) >> (i & 7)) & 1;
      this.#valid[at + r] = ok;
      if (ok) continue;
      const other = fallback?.(i);
      if (other === undefined) this.#missing++;
      else (this.#exceptions ??= new Map()).set(at + r, other);
    }
    return true;
  }

  /** The first `rows` rows as a Frame column; the builder starts empty again. */
  take(rows: number): FrameColumn {
    if (this.#kind === 'cells' || this.#kind === 'bigint') {
      const values = this.#cells.length === rows ? this.#cells : this.#cells.slice(0, rows);
      this.#cells = [];
      return { kind: 'cells', values };
    }
    const values = this.#values.subarray(0, rows);
    const valid = this.#valid.subarray(0, rows);
    const exceptions = this.#exceptions;
    let column: FrameColumn;
    if (exceptions) {
      const cells = new Array<Cell>(rows);
      for (let r = 0; r < rows; r++) cells[r] = valid[r] === 1 ? (values[r] as number) : exceptions.get(r) ?? null;
      column = { kind: 'cells', values: cells };
    } else {
      column = numberColumn(values, this.#missing > 0 ? valid : undefined);
    }
    this.#values = new Float64Array(this.#capacity);
    this.#valid = new Uint8Array(this.#capacity);
    this.#missing = 0;
    this.#exceptions = undefined;
    return column;
  }

  /** Forget the rows added since the last `take`. */
  reset(): void {
    this.#cells = [];
    this.#missing = 0;
    this.#exceptions = undefined;
  }
}
