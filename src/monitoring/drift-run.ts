/**
 * Drift of a registered version: its reference profile against current data — a data file
 * scored through the scoring core, or a window of the prediction log.
 */
import type { MonitoringParts } from './parts.js';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ModelVersion } from '../registry/types.js';
import { profileDrift, type CurrentColumns, type DriftOptions, type DriftResult } from './drift.js';
import { unpackRow } from './log-encode.js';
import { logDb } from './prediction-log-store.js';
import { guarded } from '../registry/registry-db.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'kysely';
import { outputColumns } from './profile.js';
import { requireProfile } from './profile-store.js';

/** Where the current data comes from. */
export type DriftSource =
  | { readonly kind: 'data'; readonly frame: Frame; readonly ignore?: readonly string[] }
  | {
    readonly kind: 'log'; readonly sinceMs?: number | undefined; readonly last?: number | undefined;
    /** Traffic of every version of the model, not only this one's. */
    readonly allVersions?: boolean;
    /** At most this many rows, the newest (the server's `monitoring_max_rows`); `last` beyond it is refused. */
    readonly maxRows?: number | undefined;
  };

/** Feature drift and prediction drift of one version, with what was compared. */
export interface DriftReport {
  readonly model: string;
  readonly version: number;
  readonly referenceRows: number;
  readonly currentRows: number;
  readonly features: DriftResult;
  readonly predictions: DriftResult | null;
  /** True when the window held more than `maxRows` predictions and only the newest were tested. */
  readonly capped?: boolean;
}

/** Parse a window such as `30m`, `1h`, `7d` into milliseconds. */
export function parseWindow(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw ferry('FERRY_E_USAGE', { detail: `--window "${text}" is not a duration: use a number and a unit s, m, h, d or w (e.g. 1h, 30m, 7d).` });
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2] as 's'];
  return Number(m[1]) * unit;
}

/** Run the drift tests of a version against a data set or the prediction log. */
export async function driftReport(app: MonitoringParts, version: ModelVersion, source: DriftSource, options: DriftOptions = {}): Promise<DriftReport> {
  const stored = await requireProfile(app.database, version);
  let inputs: CurrentColumns;
  let outputs: CurrentColumns;
  let rows: number;
  let capped = false;
  if (source.kind === 'data') {
    const { result } = await app.pipeline.run({ model: { version }, input: { kind: 'frame', frame: source.frame, plan: { ignore: source.ignore ?? [] } }, source: 'drift' });
    const cols = new Map<string, unknown[]>();
    for (const name of Object.keys(stored.profile.features)) {
      const values = source.frame.column(name);
      if (values) cols.set(name, result.rows.map((r) => values[r] ?? null));
    }
    inputs = cols;
    outputs = outputColumns(result.outputs);
    rows = result.rows.length;
  } else {
    const read = await readLogWindow(app, version.model, source.allVersions ? undefined : version.version, source.sinceMs, source.last, source.maxRows);
    const predictions = read.rows;
    capped = read.capped;
    if (predictions.length === 0) {
      throw ferry('FERRY_E_DRIFT_NO_DATA', { detail: `the prediction log has no predictions of ${version.model}:${version.version}${source.sinceMs !== undefined ? ' in that window' : ''}; turn logging on for the model, or test a file with --data` });
    }
    ({ inputs, outputs } = logColumns(predictions, stored.inputs));
    rows = predictions.length;
  }
  const { features, predictions } = profileDrift(stored.profile, inputs, outputs, options);
  return { model: version.model, version: version.version, referenceRows: stored.profile.rows, currentRows: rows, features, predictions, ...(capped ? { capped } : {}) };
}

/** Rows per query of a log window; the event loop gets a turn between pages. */
const PAGE = 5000;

/**
 * Logged inputs and outputs of one model (and version) in a window, newest first in pages of
 * 5000 (only the two JSON columns), giving the event loop a turn between pages. With `maxRows`,
 * at most that many (the newest; `capped` says the window held more) and `last` beyond it is
 * refused: a request cannot make the server read and hold the whole log.
 */
export async function readLogWindow(app: Pick<MonitoringParts, 'database'>, model: string, version: number | undefined, sinceMs: number | undefined, last: number | undefined, maxRows?: number): Promise<{ rows: LoggedRow[]; capped: boolean }> {
  if (maxRows !== undefined && last !== undefined && last > maxRows) {
    throw ferry('FERRY_E_REQUEST_LIMIT', { protocol: 'monitoring', what: 'rows asked for (last)', count: last, limit: maxRows });
  }
  const want = Math.min(last ?? Infinity, maxRows === undefined ? Infinity : maxRows + 1);
  const out: LoggedRow[] = [];
  let after: { at: number; id: string } | undefined;
  while (out.length < want) {
    const size = Math.min(PAGE, want - out.length);
    const from = after;
    const rows = await guarded(app.database, () => {
      let q = logDb(app.database).selectFrom('prediction_log').select(['inputs', 'outputs', 'at', 'id']).where('model_name', '=', model);
      if (version !== undefined) q = q.where('version', '=', version);
      if (sinceMs !== undefined) q = q.where('at', '>=', sinceMs);
      if (from !== undefined) q = q.where(sql<boolean>`(at, id) < (${from.at}, ${from.id})`);
      return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(size).execute();
    });
    for (const r of rows) out.push({ inputs: JSON.parse(r.inputs) as Record<string, unknown>, outputs: JSON.parse(r.outputs) as Record<string, unknown> });
    const tail = rows.at(-1);
    if (rows.length < size || tail === undefined) break;
    after = { at: Number(tail.at), id: tail.id };
    await nextTurn();
  }
  const capped = maxRows !== undefined && out.length > maxRows;
  if (capped) out.length = maxRows;
  return { rows: out, capped };
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
export function logColumns(predictions: readonly LoggedRow[], inputColumns: Readonly<Record<string, readonly string[]>>): { inputs: Map<string, ArrayLike<unknown>>; outputs: Map<string, unknown[]> } {
  const n = predictions.length;
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
  // Spread inputs write numbers into typed columns, looked up once per input.
  const typed = new Map<string, Float64Array[]>();
  const targets = (name: string, columns: readonly string[]) => {
    let t = typed.get(name);
    if (!t) {
      t = columns.map((c) => {
        const col = new Float64Array(n).fill(Number.NaN);
        inputs.set(c, col);
        return col;
      });
      typed.set(name, t);
    }
    return t;
  };
  predictions.forEach((p, i) => {
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
        column(inputs as Map<string, unknown[]>, name)[i] = Array.isArray(row) && row.length === 1 ? row[0] as unknown : row;
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
  });
  return { inputs, outputs };
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
