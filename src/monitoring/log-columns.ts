/**
 * Logged predictions as columns for the drift tests: a tensor input logged as one array per row —
 * or packed by the log writer as `"@input": "float32:<base64>"` — is spread over the data columns
 * that filled it at profiling time. Used on the event loop (CLI) and in the drift thread (server).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { unpackRow } from './log-encode.js';
import { numericValue } from './profile.js';

/** One logged prediction as stored: its inputs and outputs as JSON text. */
export interface RawLoggedRow {
  readonly inputs: string;
  readonly outputs: string;
}

/** What drift needs of a logged prediction. */
export interface LoggedRow {
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly outputs: Readonly<Record<string, unknown>>;
}

/**
 * Logged predictions as columns. A tensor input logged as one array per row — or packed by
 * the log writer as `"@input": "float32:<base64>"` — is spread over the data columns that
 * filled it at profiling time, straight into Float64Array columns (NaN = missing); vector
 * outputs become `name[j]`.
 */
export function logColumns(predictions: readonly LoggedRow[], inputColumns: Readonly<Record<string, readonly string[]>>): LogColumns {
  const builder = columnBuilder(predictions.length, inputColumns);
  predictions.forEach(builder.put);
  return builder.columns;
}

/** Rows between two event-loop turns of `logColumnsYielding`. */
const CHUNK = 1000;

/** `logColumns` giving the event loop a turn every 1000 rows. */
export async function logColumnsYielding(predictions: readonly LoggedRow[], inputColumns: Readonly<Record<string, readonly string[]>>): Promise<LogColumns> {
  const builder = columnBuilder(predictions.length, inputColumns);
  for (let i = 0; i < predictions.length; i++) {
    builder.put(predictions[i]!, i);
    if ((i + 1) % CHUNK === 0) await nextTurn();
  }
  return builder.columns;
}

/** Logged inputs and outputs by column. */
export interface LogColumns {
  readonly inputs: Map<string, ArrayLike<unknown>>;
  readonly outputs: Map<string, unknown[]>;
}

/** Columns of n logged predictions, filled one prediction at a time. */
function columnBuilder(n: number, inputColumns: Readonly<Record<string, readonly string[]>>): { put: (p: LoggedRow, i: number) => void; columns: LogColumns } {
  const inputs = new Map<string, ArrayLike<unknown>>();
  const outputs = new Map<string, unknown[]>();
  const column = (map: Map<string, unknown[]>, name: string) => {
    let c = map.get(name);
    if (!c) {
      c = new Array<unknown>(n).fill(null);
      map.set(name, c);
    }
    return c;
  };
  // Spread inputs write numbers into typed columns, looked up once per input. A column that frame
  // rows (cells by name) filled before the first spread row is taken over: its cells so far become
  // numbers (NaN = missing), as later frame cells of a typed column do, so that the columns are
  // the same whatever order frame and tensor rows come in.
  const typed = new Map<string, Float64Array[]>();
  const targets = (name: string, columns: readonly string[]) => {
    let t = typed.get(name);
    if (!t) {
      t = columns.map((c) => {
        const prior = inputs.get(c);
        if (prior instanceof Float64Array) return prior;
        const col = new Float64Array(n).fill(Number.NaN);
        if (prior) for (let k = 0; k < n; k++) col[k] = cellNumber(prior[k]);
        inputs.set(c, col);
        return col;
      });
      typed.set(name, t);
    }
    return t;
  };
  const put = (p: LoggedRow, i: number): void => {
    for (const key in p.inputs) {
      const value = p.inputs[key];
      const packed = key.charCodeAt(0) === 64 && typeof value === 'string';
      const name = packed ? key.slice(1) : key;
      const spread = inputColumns[name];
      if (packed && spread && spread.length > 1 && unpackInto(value, targets(name, spread), i)) continue;
      const row = packed ? unpackRow(value) ?? value : value;
      if (Array.isArray(row) && spread && spread.length > 1) {
        const flat = row.some(Array.isArray) ? (row as unknown[]).flat(8) : row as unknown[];
        const t = targets(name, spread);
        for (let j = 0; j < t.length; j++) {
          const v = flat[j];
          (t[j] as Float64Array)[i] = typeof v === 'number' ? v : Number.NaN;
        }
      } else {
        const cell = Array.isArray(row) && row.length === 1 ? row[0] as unknown : row;
        const c = column(inputs as Map<string, unknown[]>, name) as unknown[] | Float64Array;
        if (c instanceof Float64Array) c[i] = cellNumber(cell);
        else c[i] = cell;
      }
    }
    for (const key in p.outputs) {
      const value = p.outputs[key];
      if (Array.isArray(value) && value.length <= 32 && !value.some(Array.isArray)) {
        for (let j = 0; j < value.length; j++) column(outputs, `${key}[${j}]`)[i] = value[j] as unknown;
      } else {
        column(outputs, key)[i] = value;
      }
    }
  };
  return { put, columns: { inputs, outputs } };
}

/** A frame cell in a typed (spread) column: its number, NaN when missing or not numeric (as drift reads it). */
function cellNumber(v: unknown): number {
  return typeof v === 'number' ? v : numericValue(v) ?? Number.NaN;
}

/** Decode a packed float32/float64 row straight into typed columns; false for other dtypes. */
function unpackInto(text: string, columns: readonly Float64Array[], row: number): boolean {
  const f32 = text.startsWith('float32:');
  if (!f32 && !text.startsWith('float64:')) return false;
  const bytes = Buffer.from(text.slice(8), 'base64');
  const width = f32 ? 4 : 8;
  if (bytes.length !== columns.length * width) return false;
  for (let j = 0; j < columns.length; j++) (columns[j] as Float64Array)[row] = f32 ? bytes.readFloatLE(j * 4) : bytes.readDoubleLE(j * 8);
  return true;
}
