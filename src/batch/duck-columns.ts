import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { numberColumn, type Cell, type FrameColumn } from '../core/frame.js';

/**
 * Builds one Frame column from DuckDB result chunks. A DOUBLE column is copied out of the
 * chunk's vector memory in one `set` (no value objects, no accessor call per value), with its
 * validity bits as the Frame's mask; other columns go value by value through `cell`.
 */
export class DuckColumnBuilder {
  readonly #capacity: number;
  readonly #double: boolean;
  #values: Float64Array;
  #valid: Uint8Array;
  #missing = 0;
  #cells: Cell[] = [];
  /** Cells standing in for missing doubles (CSV text that is not a number), by row. */
  #exceptions: Map<number, Cell> | undefined;

  /** `double`: the column is a DuckDB DOUBLE read straight from memory. */
  constructor(double: boolean, capacity: number) {
    this.#double = double;
    this.#capacity = capacity;
    this.#values = new Float64Array(double ? capacity : 0);
    this.#valid = new Uint8Array(double ? capacity : 0);
  }

  /**
   * Rows [from, from + count) of column `index` of `chunk`, placed at `at`. For a DOUBLE
   * column, `fallback(row)` gives the cell of a row whose double is missing (undefined: missing).
   */
  add(chunk: DuckDBDataChunk, index: number, from: number, count: number, at: number, cell: (row: number) => Cell, fallback?: (row: number) => Cell | undefined): void {
    if (!this.#double) {
      for (let r = 0; r < count; r++) this.#cells[at + r] = cell(from + r);
      return;
    }
    const size = chunk.rowCount;
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
    const bytes = duckdb.vector_get_data(vector, size * 8);
    const doubles = bytes.byteOffset % 8 === 0 ? new Float64Array(bytes.buffer, bytes.byteOffset, size) : new Float64Array(bytes.slice().buffer);
    this.#values.set(doubles.subarray(from, from + count), at);
    const mask = duckdb.vector_get_validity(vector, Math.ceil(size / 64) * 8) as Uint8Array | null;
    if (!mask) {
      this.#valid.fill(1, at, at + count);
      return;
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
  }

  /** The first `rows` rows as a Frame column; the builder starts empty again. */
  take(rows: number): FrameColumn {
    if (!this.#double) {
      const values = this.#cells.slice(0, rows);
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
}
