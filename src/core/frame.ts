/**
 * One cell of tabular input, as it came from CSV (strings) or JSON (typed). A cell may hold
 * an array when a row gives a whole tensor input under the input's name (`{"image": [[…]]}`).
 */
export type Cell = string | number | boolean | bigint | null | readonly Cell[];

/**
 * A column of numbers: the values in one Float64Array and, when some are missing, a validity
 * mask (1 = present, 0 = missing; the value slot of a missing entry is meaningless).
 */
export interface NumberColumn {
  readonly kind: 'number';
  readonly values: Float64Array;
  /** Undefined when every value is present. */
  readonly valid: Uint8Array | undefined;
}

/** A column of any other cells (text, booleans, nested arrays, mixed types). */
export interface CellColumn {
  readonly kind: 'cells';
  readonly values: readonly Cell[];
}

/** How a Frame stores one column. */
export type FrameColumn = NumberColumn | CellColumn;

/**
 * A batch of rows stored by column: numbers in typed arrays with a validity mask, anything
 * else as an array of cells. Protocols, files and streams convert their input to a Frame at
 * the edge; the scoring core validates it against the model signature and fills the input
 * tensors from the typed columns directly.
 */
export interface Frame {
  readonly columns: readonly string[];
  readonly length: number;
  /** A column as its storage (typed for numbers): what tensorizing and writers read. */
  vector(name: string): FrameColumn | undefined;
  /** A column as cells (a number column's cells are numbers, or null where missing). */
  column(name: string): readonly Cell[] | undefined;
}

/** A number column over `values`, with `valid` when some are missing. */
export function numberColumn(values: Float64Array, valid?: Uint8Array): NumberColumn {
  return { kind: 'number', values, valid };
}

/** Cells of a column, whichever way it is stored. */
export function cellsOf(column: FrameColumn): readonly Cell[] {
  if (column.kind === 'cells') return column.values;
  const { values, valid } = column;
  const cells = new Array<Cell>(values.length);
  for (let i = 0; i < values.length; i++) cells[i] = valid && valid[i] === 0 ? null : (values[i] as number);
  return cells;
}

/** A Frame over columns (typed or cells). All columns must have the same length. */
export class ColumnFrame implements Frame {
  readonly columns: readonly string[];
  readonly length: number;
  readonly #data: ReadonlyMap<string, FrameColumn>;
  readonly #cells = new Map<string, readonly Cell[]>();

  /** Columns given as cell arrays are kept as cells; use `ColumnFrame.fromCells` to type them. */
  constructor(data: ReadonlyMap<string, FrameColumn | readonly Cell[]>, length: number) {
    const typed = new Map<string, FrameColumn>();
    for (const [name, col] of data) typed.set(name, isFrameColumn(col) ? col : { kind: 'cells', values: col });
    this.#data = typed;
    this.columns = [...typed.keys()];
    this.length = length;
  }

  vector(name: string): FrameColumn | undefined {
    return this.#data.get(name);
  }

  column(name: string): readonly Cell[] | undefined {
    const col = this.#data.get(name);
    if (!col || col.kind === 'cells') return col?.values;
    let cells = this.#cells.get(name);
    if (!cells) {
      cells = cellsOf(col);
      this.#cells.set(name, cells);
    }
    return cells;
  }

  /** Build from cell arrays, storing a column of numbers (and nulls) as a number column. */
  static fromCells(data: ReadonlyMap<string, readonly Cell[]>, length: number): ColumnFrame {
    const typed = new Map<string, FrameColumn>();
    for (const [name, cells] of data) typed.set(name, typeCells(cells));
    return new ColumnFrame(typed, length);
  }

  /** Build from row objects; the column order is the order keys first appear. */
  static fromRows(rows: readonly Readonly<Record<string, unknown>>[]): ColumnFrame {
    const data = new Map<string, Cell[]>();
    rows.forEach((row, i) => {
      // for…in with an own-property check: Object.keys's order without an array of keys per row.
      for (const key in row) {
        if (!Object.hasOwn(row, key)) continue;
        let col = data.get(key);
        if (!col) {
          col = new Array<Cell>(rows.length).fill(null);
          data.set(key, col);
        }
        col[i] = toCell(row[key]);
      }
    });
    return ColumnFrame.fromCells(data, rows.length);
  }

  /** Build from a header and rows of cells (CSV). */
  static fromRecords(header: readonly string[], records: readonly (readonly Cell[])[]): ColumnFrame {
    const data = new Map<string, Cell[]>();
    header.forEach((name, j) => data.set(name, records.map((r) => r[j] ?? null)));
    return ColumnFrame.fromCells(data, records.length);
  }
}

/** The given rows of a Frame (in the order given), column by column. */
export function takeRows(frame: Frame, rows: readonly number[]): Frame {
  const data = new Map<string, FrameColumn>();
  for (const name of frame.columns) {
    const col = frame.vector(name);
    if (!col) continue;
    if (col.kind === 'cells') {
      data.set(name, { kind: 'cells', values: rows.map((r) => col.values[r] ?? null) });
      continue;
    }
    const values = new Float64Array(rows.length);
    const valid = col.valid ? new Uint8Array(rows.length) : undefined;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      values[i] = col.values[r] as number;
      if (valid) valid[i] = col.valid?.[r] ?? 0;
    }
    data.set(name, numberColumn(values, valid));
  }
  return new ColumnFrame(data, rows.length);
}

function isFrameColumn(col: FrameColumn | readonly Cell[]): col is FrameColumn {
  return !Array.isArray(col);
}

/** Cells that are all numbers (or null) as a number column; anything else stays cells. */
function typeCells(cells: readonly Cell[]): FrameColumn {
  let numbers = 0;
  for (const c of cells) {
    if (typeof c === 'number') numbers++;
    else if (c !== null) return { kind: 'cells', values: cells };
  }
  if (numbers === 0) return { kind: 'cells', values: cells };
  const values = new Float64Array(cells.length);
  const valid = numbers < cells.length ? new Uint8Array(cells.length) : undefined;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (typeof c === 'number') {
      values[i] = c;
      if (valid) valid[i] = 1;
    }
  }
  return numberColumn(values, valid);
}

/** Arrays nested deeper than this are not tensors anyone sends; they fail validation as text. */
const MAX_CELL_DEPTH = 32;

/** A JSON value as a Cell (objects are kept as JSON text and fail validation). */
export function toCell(value: unknown): Cell {
  return cellAt(value, 0);
}

function cellAt(value: unknown, depth: number): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (Array.isArray(value)) return depth >= MAX_CELL_DEPTH ? `[a list nested more than ${MAX_CELL_DEPTH} deep]` : value.map((v) => cellAt(v, depth + 1));
  // Objects are kept as JSON text; numeric inputs reject them as wrong types.
  try {
    return JSON.stringify(value);
  } catch {
    return '[an object]';
  }
}
