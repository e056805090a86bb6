/**
 * Drift of a registered version: its reference profile against current data — a data file
 * scored through the scoring core, or a window of the prediction log.
 */
import type { MonitoringParts } from './parts.js';
import { parseDuration } from '../core/duration.js';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ModelVersion } from '../registry/types.js';
import { profileDriftYielding, type CurrentColumns, type DriftOptions, type DriftResult } from './drift.js';
import { logColumnsYielding, type LoggedRow, type RawLoggedRow } from './log-columns.js';
import { startDriftJob } from './drift-thread-client.js';
import { scanLog } from './log-scan.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
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
    /** Decode and test in the drift thread, so the event loop only reads pages (a server). */
    readonly offThread?: boolean;
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

/** Parse a window such as `30m`, `1h`, `7d` into milliseconds; `name` is the setting as the caller knows it. */
export function parseWindow(text: string, name = '--window'): number {
  return parseDuration(text, name);
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
  } else if (source.offThread) {
    // Only the page reads stay here: decoding and the tests run in the drift thread.
    const job = startDriftJob(stored.profile, stored.inputs, options);
    let read: { rows: number; capped: boolean };
    try {
      read = await readLogPages(app, version.model, source.allVersions ? undefined : version.version, source.sinceMs, source.last, source.maxRows, (page) => job.add(page));
    } catch (err) {
      job.cancel();
      throw err;
    }
    if (read.rows === 0) {
      job.cancel();
      throw noLogData(version, source.sinceMs);
    }
    const { features, predictions } = await job.finish();
    return { model: version.model, version: version.version, referenceRows: stored.profile.rows, currentRows: read.rows, features, predictions, ...(read.capped ? { capped: true } : {}) };
  } else {
    const read = await readLogWindow(app, version.model, source.allVersions ? undefined : version.version, source.sinceMs, source.last, source.maxRows);
    const predictions = read.rows;
    capped = read.capped;
    if (predictions.length === 0) throw noLogData(version, source.sinceMs);
    ({ inputs, outputs } = await logColumnsYielding(predictions, stored.inputs));
    rows = predictions.length;
  }
  // One column at a time with an event-loop turn between.
  const { features, predictions } = await profileDriftYielding(stored.profile, inputs, outputs, options);
  return { model: version.model, version: version.version, referenceRows: stored.profile.rows, currentRows: rows, features, predictions, ...(capped ? { capped } : {}) };
}

function noLogData(version: ModelVersion, sinceMs: number | undefined): Error {
  return ferry('FERRY_E_DRIFT_NO_DATA', { detail: `the prediction log has no predictions of ${version.model}:${version.version}${sinceMs !== undefined ? ' in that window' : ''}; turn logging on for the model, or test a file with --data` });
}

/** Rows per query of a log window; the event loop gets a turn between pages. */
const PAGE = 1000;

/**
 * Logged inputs and outputs of one model (and version) in a window, newest first in pages of
 * 1000 (only the two JSON columns), giving the event loop a turn between pages. With `maxRows`,
 * at most that many (the newest; `capped` says the window held more) and `last` beyond it is
 * refused: a request cannot make the server read and hold the whole log.
 */
export async function readLogWindow(app: Pick<MonitoringParts, 'database'>, model: string, version: number | undefined, sinceMs: number | undefined, last: number | undefined, maxRows?: number): Promise<{ rows: LoggedRow[]; capped: boolean }> {
  const out: LoggedRow[] = [];
  const { capped } = await readLogPages(app, model, version, sinceMs, last, maxRows, (page) => {
    for (const r of page) out.push({ inputs: JSON.parse(r.inputs) as Record<string, unknown>, outputs: JSON.parse(r.outputs) as Record<string, unknown> });
  });
  return { rows: out, capped };
}

/**
 * The pages of `readLogWindow` as stored (JSON text), handed to `onPage` one at a time; never more
 * than `maxRows` rows in all (`capped` says the window held more).
 */
export async function readLogPages(app: Pick<MonitoringParts, 'database'>, model: string, version: number | undefined, sinceMs: number | undefined, last: number | undefined, maxRows: number | undefined, onPage: (rows: RawLoggedRow[]) => void): Promise<{ rows: number; capped: boolean }> {
  if (maxRows !== undefined && last !== undefined && last > maxRows) {
    throw ferry('FERRY_E_REQUEST_LIMIT', { protocol: 'monitoring', what: 'rows asked for (last)', count: last, limit: maxRows });
  }
  // One row past the cap tells whether the window held more.
  const want = Math.min(last ?? Infinity, maxRows === undefined ? Infinity : maxRows + 1);
  let count = 0;
  let capped = false;
  for await (const rows of scanLog(app.database, { model, version, since: sinceMs }, 'desc', { pageSize: Math.min(PAGE, want), texts: true })) {
    const keep = Math.min(rows.length, want - count, maxRows === undefined ? Infinity : maxRows - count);
    if (keep < rows.length && maxRows !== undefined && count + keep >= maxRows) capped = true;
    if (keep > 0) onPage(keep === rows.length ? rows : rows.slice(0, keep));
    count += keep;
    if (count >= want || capped) break;
    await nextTurn();
  }
  return { rows: count, capped };
}
