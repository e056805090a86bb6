import type { Frame } from '../core/frame.js';
import { openShareLog } from '../monitoring/log-share.js';
import { frameEntry, type PredictionLogger, type PredictionLogWriter } from '../monitoring/prediction-log-writer.js';
import type { RegistryDb } from '../registry/registry-db.js';
import type { LoadedModel, ScoreResult } from '../scoring/scorer.js';
import type { RunnerLog } from './runner.js';

/**
 * The prediction log of a stream consumer (`ferry stream run --log-predictions [share]`):
 * every model it scores, at `share` of its micro-batches. As in the server, a full buffer or
 * a refused write drops predictions (counted) and never holds up the consumer; write failures
 * are reported at most once a minute. Close it after the consumer stopped.
 */
export function openStreamLog(db: RegistryDb, share: number, log: RunnerLog): PredictionLogWriter {
  let last = 0;
  return openShareLog(db, share, {
    observer: {
      onError: (err) => {
        if (Date.now() - last > 60_000) log.warn({ err }, 'prediction log: writing failed; predictions are dropped');
        last = Date.now();
      },
    },
  });
}

/**
 * Log the rows of a scored micro-batch that become output messages (`keep(row)`: rows of
 * messages going to the dead letters or scored again alone are left out, so each published
 * prediction is logged once). Returns each logged Frame row's prediction id, or undefined
 * when nothing was logged (logging off, sampled out, buffer full).
 */
export function logStreamBatch(logger: PredictionLogger | undefined, model: LoadedModel, frame: Frame, result: ScoreResult, latencyMs: number, keep: (row: number) => boolean): Map<number, string> | undefined {
  if (!logger?.enabled(model.version.model) || result.rows.length === 0) return undefined;
  const picked: number[] = [];
  result.rows.forEach((row, i) => { if (keep(row)) picked.push(i); });
  if (picked.length === 0) return undefined;
  const scored: ScoreResult = picked.length === result.rows.length ? result : {
    ...result,
    rows: picked.map((i) => result.rows[i] ?? 0),
    outputs: result.outputs.map((c) => ({ ...c, values: picked.map((i) => c.values[i] ?? null) })),
  };
  const ids = logger.log(frameEntry(model.version, frame, scored, 'stream', latencyMs));
  if (!ids) return undefined;
  const byRow = new Map<number, string>();
  scored.rows.forEach((row, i) => { const id = ids[i]; if (id !== undefined) byRow.set(row, id); });
  return byRow;
}

/** The ids of a message's rows (Frame rows first … first + count − 1), when every one was logged. */
export function messageIds(byRow: ReadonlyMap<number, string> | undefined, first: number, count: number): string[] | undefined {
  if (!byRow) return undefined;
  const ids: string[] = [];
  for (let r = first; r < first + count; r++) {
    const id = byRow.get(r);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}
