/**
 * One cell of tabular input, as it came from CSV (strings) or JSON (typed). A cell may hold
 * an array when a row gives a whole tensor input under the input's name (`{"image": [[…]]}`).
 */
export type Cell = string | number | boolean | bigint | null | readonly Cell[];

/**
 * A batch of rows stored by column. Protocols, files and streams convert their input to a
 * Frame at the edge; the scoring core validates it against the model signature.
 */
export interface Frame {
  readonly columns: readonly string[];
  readonly length: number;
  column(name: string): readonly Cell[] | undefined;
}

/** A Frame over column arrays. All columns must have the same length. */
export class ColumnFrame implements Frame {
  readonly columns: readonly string[];
  readonly length: number;
  readonly #data: ReadonlyMap<string, readonly Cell[]>;

  constructor(data: ReadonlyMap<string, readonly Cell[]>, length: number) {
    this.#data = data;
    this.columns = [...data.keys()];
    this.length = length;
  }

  column(name: string): readonly Cell[] | undefined {
    return this.#data.get(name);
  }

  /** Build from row objects; the column order is the order keys first appear. */
  static fromRows(rows: readonly Readonly<Record<string, unknown>>[]): ColumnFrame {
    const data = new Map<string, Cell[]>();
    rows.forEach((row, i) => {
      for (const [key, value] of Object.entries(row)) {
        let col = data.get(key);
        if (!col) {
          col = new Array<Cell>(rows.length).fill(null);
          data.set(key, col);
        }
        col[i] = toCell(value);
      }
    });
    return new ColumnFrame(data, rows.length);
  }

  /** Build from a header and rows of cells (CSV). */
  static fromRecords(header: readonly string[], records: readonly (readonly Cell[])[]): ColumnFrame {
    const data = new Map<string, Cell[]>();
    header.forEach((name, j) => data.set(name, records.map((r) => r[j] ?? null)));
    return new ColumnFrame(data, records.length);
  }
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
