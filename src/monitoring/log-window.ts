import { isDuration, parseDuration } from '../core/duration.js';
import { ferry } from '../core/errors.js';
import type { PredictionQuery } from './prediction-log-store.js';

/** A point in time: an ISO date/time, epoch milliseconds, or a duration ago (`2h` = two hours ago). */
export function parseTime(text: string, what: string, now = Date.now()): number {
  if (/^\d{12,}$/.test(text.trim())) return Number(text);
  if (isDuration(text)) return now - parseDuration(text, what);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw ferry('FERRY_E_PARAMETER_INVALID', { name: what, detail: `"${text}" must be an ISO date/time (2026-11-22T10:00:00Z), epoch milliseconds or a duration ago (2h)` });
  return t;
}

/** Window options as the CLI and the REST endpoints take them (all text). */
export interface WindowOptions {
  readonly window?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly last?: string | undefined;
  readonly version?: string | undefined;
}

/** How a caller names the window settings in errors: CLI flags (`--window`) or query parameters (`window`). */
export type SettingNames = (setting: keyof WindowOptions) => string;
export const CLI_FLAGS: SettingNames = (s) => `--${s}`;
export const QUERY_PARAMETERS: SettingNames = (s) => s;

/**
 * A query over a model's log from window options: `window` = the last duration (until now or
 * `until`), or `since`/`until`; `last` = the newest N predictions; `version` = one version.
 */
export function windowQuery(model: string, opts: WindowOptions, names: SettingNames, now = Date.now()): PredictionQuery {
  if (opts.window !== undefined && opts.since !== undefined) throw ferry('FERRY_E_PARAMETER_INVALID', { name: names('since'), detail: `give ${names('window')} or ${names('since')}, not both` });
  const until = opts.until === undefined ? undefined : parseTime(opts.until, names('until'), now);
  const since = opts.window !== undefined ? (until ?? now) - parseDuration(opts.window, names('window'))
    : opts.since === undefined ? undefined : parseTime(opts.since, names('since'), now);
  let last: number | undefined;
  if (opts.last !== undefined) {
    last = Number(opts.last);
    if (!Number.isInteger(last) || last < 1) throw ferry('FERRY_E_PARAMETER_INVALID', { name: names('last'), detail: `"${opts.last}" must be a positive whole number of predictions` });
  }
  let version: number | undefined;
  if (opts.version !== undefined) {
    version = Number(opts.version);
    if (!Number.isInteger(version) || version < 1) throw ferry('FERRY_E_PARAMETER_INVALID', { name: names('version'), detail: `"${opts.version}" must be a version number` });
  }
  return { model, version, since, until, last };
}

/**
 * A listing (`ferry monitor log`, `GET /ferry/v1/models/{m}/predictions`): the newest `limit`
 * predictions of a window, only the low-confidence ones when asked, only those with (true) or
 * without (false) ground truth when `labelled` is given.
 */
export function listingQuery(window: PredictionQuery, limit: number, only: { readonly lowConfidence?: boolean; readonly labelled?: boolean | undefined }): PredictionQuery {
  return {
    ...window,
    last: Math.min(window.last ?? limit, limit),
    ...(only.lowConfidence ? { lowConfidence: true } : {}),
    ...(only.labelled === undefined ? {} : { labelled: only.labelled }),
  };
}
