import { ferry, quoteList } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ScoreResult } from './scorer.js';

/** One output row: carried columns first, then each model output by name. */
export type PredictionRecord = Record<string, unknown>;

/**
 * Rows of a result as records, in input order: the `carry` columns (keys, passthrough) of
 * the input row, then every output. A carried column may not share an output's name.
 */
export function predictionRecords(result: ScoreResult, frame: Frame, carry: readonly string[] = []): PredictionRecord[] {
  const clash = carry.filter((c) => result.outputs.some((o) => o.name === c));
  if (clash.length > 0) throw ferry('FERRY_E_COLUMN_CLASH', { columns: quoteList(clash), what: 'a model output' });
  const carried = carry.map((name) => ({ name, cells: frame.column(name) ?? [] }));
  return result.rows.map((row, i) => {
    const record: PredictionRecord = {};
    for (const { name, cells } of carried) record[name] = cells[row] ?? null;
    for (const output of result.outputs) record[output.name] = output.values[i] ?? null;
    return record;
  });
}
