/**
 * Drift of a registered version: its reference profile against current data — a data file
 * scored through the scoring core, or a window of the prediction log.
 */
import type { Ferry } from '../app.js';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ModelVersion } from '../registry/types.js';
import { profileDrift, type CurrentColumns, type DriftOptions, type DriftResult } from './drift.js';
import { readPredictionChunks, type LoggedPrediction } from './prediction-log.js';
import { outputColumns } from './profile.js';
import { requireProfile } from './profile-store.js';

/** Where the current data comes from. */
export type DriftSource =
  | { readonly kind: 'data'; readonly frame: Frame; readonly ignore?: readonly string[] }
  | { readonly kind: 'log'; readonly sinceMs?: number | undefined; readonly last?: number | undefined; /** Traffic of every version of the model, not only this one's. */ readonly allVersions?: boolean };

/** Feature drift and prediction drift of one version, with what was compared. */
export interface DriftReport {
  readonly model: string;
  readonly version: number;
  readonly referenceRows: number;
  readonly currentRows: number;
  readonly features: DriftResult;
  readonly predictions: DriftResult | null;
}

/** Parse a window such as `30m`, `1h`, `7d` into milliseconds. */
export function parseWindow(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw ferry('FERRY_E_USAGE', { detail: `--window "${text}" is not a duration: use a number and a unit s, m, h, d or w (e.g. 1h, 30m, 7d).` });
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2] as 's'];
  return Number(m[1]) * unit;
}

/** Run the drift tests of a version against a data set or the prediction log. */
export async function driftReport(app: Ferry, version: ModelVersion, source: DriftSource, options: DriftOptions = {}): Promise<DriftReport> {
  const stored = await requireProfile(app.database, version);
  let inputs: CurrentColumns;
  let outputs: CurrentColumns;
  let rows: number;
  if (source.kind === 'data') {
    const model = await app.loader.loadVersion(version);
    const result = await app.scorer.frame(model, source.frame, { ignore: source.ignore ?? [] });
    const cols = new Map<string, unknown[]>();
    for (const name of Object.keys(stored.profile.features)) {
      const values = source.frame.column(name);
      if (values) cols.set(name, result.rows.map((r) => values[r] ?? null));
    }
    inputs = cols;
    outputs = outputColumns(result.outputs);
    rows = result.rows.length;
  } else {
    const predictions: LoggedPrediction[] = [];
    for await (const chunk of readPredictionChunks(app.database, { model: version.model, version: source.allVersions ? undefined : version.version, since: source.sinceMs, last: source.last })) predictions.push(...chunk);
    if (predictions.length === 0) {
      throw ferry('FERRY_E_DRIFT_NO_DATA', { detail: `the prediction log has no predictions of ${version.model}:${version.version}${source.sinceMs !== undefined ? ' in that window' : ''}; turn logging on for the model, or test a file with --data` });
    }
    ({ inputs, outputs } = logColumns(predictions, stored.inputs));
    rows = predictions.length;
  }
  const { features, predictions } = profileDrift(stored.profile, inputs, outputs, options);
  return { model: version.model, version: version.version, referenceRows: stored.profile.rows, currentRows: rows, features, predictions };
}

/**
 * Logged predictions as columns. A tensor input logged as one array per row is spread over
 * the data columns that filled it at profiling time; vector outputs become `name[j]`.
 */
export function logColumns(predictions: readonly LoggedPrediction[], inputColumns: Readonly<Record<string, readonly string[]>>): { inputs: Map<string, unknown[]>; outputs: Map<string, unknown[]> } {
  const n = predictions.length;
  const inputs = new Map<string, unknown[]>();
  const outputs = new Map<string, unknown[]>();
  const column = (map: Map<string, unknown[]>, name: string) => {
    let c = map.get(name);
    if (!c) {
      c = new Array<unknown>(n).fill(null);
      map.set(name, c);
    }
    return c;
  };
  predictions.forEach((p, i) => {
    for (const [key, value] of Object.entries(p.inputs)) {
      const spread = inputColumns[key];
      if (Array.isArray(value) && spread && spread.length > 1) {
        const flat = (value as unknown[]).flat(8);
        spread.forEach((c, j) => { column(inputs, c)[i] = flat[j] ?? null; });
      } else {
        column(inputs, key)[i] = Array.isArray(value) && value.length === 1 ? value[0] as unknown : value;
      }
    }
    for (const [key, value] of Object.entries(p.outputs)) {
      if (Array.isArray(value) && value.length <= 32 && !value.some(Array.isArray)) {
        (value as unknown[]).forEach((v, j) => { column(outputs, `${key}[${j}]`)[i] = v; });
      } else {
        column(outputs, key)[i] = value;
      }
    }
  });
  return { inputs, outputs };
}
