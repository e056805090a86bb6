import type { Ferry } from '../app.js';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { openShareLog } from '../monitoring/log-share.js';
import { frameEntry, type LogStats, type PredictionLogWriter } from '../monitoring/prediction-log-writer.js';
import type { LoadedModel, ScoreResult } from '../scoring/scorer.js';
import type { TableColumn } from './output-table.js';
import type { OutputColumnSpec } from './records.js';
import type { RunSpec } from './types.js';

/** The output column holding each row's prediction id when the run logs its predictions. */
export const PREDICTION_ID_COLUMN: OutputColumnSpec = { name: 'prediction_id', type: 'VARCHAR' };

/**
 * The prediction log of one batch run (`--log-predictions [share]`, a job's `log:`): each
 * scored chunk is logged with source `batch`, and its rows get their prediction ids in a
 * `prediction_id` output column (null for chunks sampled out). Unlike the server, a run never
 * drops predictions because the log is behind: a chunk waits for the writer to catch up
 * instead. `close()` writes everything queued (the runner closes it when the run ends).
 */
export class RunLog {
  readonly #writer: PredictionLogWriter;
  readonly #bufferRows: number;
  readonly #failures: { readonly first?: unknown };

  private constructor(writer: PredictionLogWriter, bufferRows: number, failures: { readonly first?: unknown }) {
    this.#writer = writer;
    this.#bufferRows = bufferRows;
    this.#failures = failures;
  }

  /** The run's log, or undefined when the run does not log. */
  static open(app: Ferry, spec: RunSpec): RunLog | undefined {
    if (spec.logPredictions === undefined || spec.logPredictions <= 0) return undefined;
    // Room for every chunk that can be in flight at once (scored ahead of the commit), twice over.
    const bufferRows = Math.max(10_000, 2 * spec.chunkSize * (Math.max(1, spec.workers) + 1));
    const failures: { first?: unknown } = {};
    const writer = openShareLog(app.database, spec.logPredictions, {
      bufferRows,
      observer: { onError: (err) => { failures.first ??= err; } },
    });
    return new RunLog(writer, bufferRows, failures);
  }

  /** Log a scored chunk; add its rows' ids to its output columns. */
  async chunk(model: LoadedModel, frame: Frame, result: ScoreResult, latencyMs: number, columns: TableColumn[]): Promise<void> {
    if (columns.some((c) => c.name === PREDICTION_ID_COLUMN.name)) {
      throw ferry('FERRY_E_USAGE', { detail: `Column "${PREDICTION_ID_COLUMN.name}" clashes with the prediction id column --log-predictions adds; rename it.` });
    }
    const rows = result.rows.length;
    while (this.#writer.stats().queued > 0 && this.#writer.stats().queued + rows > this.#bufferRows) await this.#writer.flush();
    const ids = this.#writer.log(frameEntry(model.version, frame, result, 'batch', latencyMs));
    columns.push({ ...PREDICTION_ID_COLUMN, data: ids ? { kind: 'cells', values: ids } : { kind: 'constant', value: null } });
  }

  /** Rows written, dropped (the database refused them) so far. */
  stats(): LogStats {
    return this.#writer.stats();
  }

  /** The first write failure, if any (predictions of that batch were dropped and counted). */
  get error(): unknown {
    return this.#failures.first;
  }

  /** Write what is queued and close the writer. */
  close(): Promise<void> {
    return this.#writer.close();
  }
}
