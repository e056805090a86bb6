import { ferry } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { PredictionLogWriter, type LogWriterOptions } from './prediction-log-writer.js';

/**
 * The prediction log of one batch run or stream consumer: every prediction of the model it
 * scores, sampled at `share` (the same spread-evenly sampling as the server's `log.sample`,
 * counted per scored chunk or micro-batch). Close it at the end to write what is queued.
 *
 * @example
 *   const log = openShareLog(app.database, 1);
 *   const ids = log.log(frameEntry(loaded.version, frame, result, 'batch', ms));
 *   await log.close();
 */
export function openShareLog(db: RegistryDb, share: number, options: Omit<LogWriterOptions, 'policy'> = {}): PredictionLogWriter {
  return new PredictionLogWriter(db, { ...options, policy: () => ({ sample: share }) });
}

/**
 * The share of `--log-predictions [share]` (true when given without a value = 1), or of a
 * `log:` setting (`true`, a number, or `{sample: x}` as in ferry.yaml model entries).
 * Undefined when logging is off (absent, false, or a share of 0).
 */
export function logShare(value: unknown, where: string, code: 'FERRY_E_USAGE' | 'FERRY_E_CONFIG_INVALID' = 'FERRY_E_USAGE'): number | undefined {
  const end = code === 'FERRY_E_USAGE' ? '.' : '';
  if (value === undefined || value === null || value === false) return undefined;
  if (value === true) return 1;
  let raw: unknown = value;
  if (typeof raw === 'object' && !Array.isArray(raw)) {
    const keys = Object.keys(raw as object).filter((k) => k !== 'sample');
    if (keys.length > 0) throw ferry(code, { detail: `${where}: unknown key(s) ${keys.join(', ')} (known: sample)${end}` });
    raw = (raw as { sample?: unknown }).sample ?? 1;
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) throw ferry(code, { detail: `${where} must be a share of predictions from 0 to 1 (got ${JSON.stringify(value)})${end}` });
  return n === 0 ? undefined : n;
}
