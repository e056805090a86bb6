import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { openDuckDb, sqlString } from '../batch/duckdb.js';
import { ferry } from '../core/errors.js';
import { copyFormat } from './training-set.js';

/** One logged prediction as a training row: what the model saw (its inputs after the feature stage) and the label attached later. */
export interface LoggedRow {
  readonly id: string;
  readonly at: number;
  readonly version: number;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly actual: unknown;
}

/**
 * "Log and wait": a training set of exactly what the model saw — the prediction log's inputs
 * (the served feature values) joined with the ground truth attached by feedback — written as
 * Parquet, CSV or JSON Lines. Rows stream through a temporary JSON Lines file that DuckDB copies.
 */
export async function exportLoggedRows(rows: AsyncIterable<LoggedRow>, output: string, label = 'label'): Promise<{ rows: number }> {
  const format = copyFormat(output);
  const temp = `${output}.ferry-tmp.jsonl`;
  const file = createWriteStream(temp);
  let n = 0;
  try {
    for await (const r of rows) {
      if (label in r.inputs) throw ferry('FERRY_E_COLUMN_CLASH', { columns: `"${label}"`, what: 'the label column asked for (pick another --label-column)' });
      const line = JSON.stringify({ prediction_id: r.id, predicted_at: new Date(r.at).toISOString(), model_version: r.version, ...r.inputs, [label]: r.actual ?? null });
      if (!file.write(`${line}\n`)) await once(file, 'drain');
      n++;
    }
    file.end();
    await once(file, 'finish');
    if (n === 0) throw ferry('FERRY_E_DRIFT_NO_DATA', { detail: 'no logged prediction of this model has ground truth yet (`ferry feedback`)' });
    const duck = await openDuckDb();
    try {
      const conn = await duck.connect();
      await conn.run(`copy (select * from read_json(${sqlString(temp)}, format='newline_delimited')) to ${sqlString(output)} ${format}`);
    } finally {
      duck.close();
    }
    return { rows: n };
  } finally {
    file.destroy();
    await rm(temp, { force: true });
  }
}
