import { ferry, quoteList } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { OutputRecord } from '../data/writers.js';
import { predictionRecords } from '../scoring/records.js';
import type { ScoreResult } from '../scoring/scorer.js';
import type { OutputColumnSpec, OutputTable, TableColumn } from '../data/output-table.js';
import type { ColumnTypes, RowPosition } from './source.js';

/** Columns every output row carries besides keys, passthrough and model outputs. */
export const META_COLUMNS: readonly OutputColumnSpec[] = [
  { name: 'model', type: 'VARCHAR' },
  { name: 'model_version', type: 'INTEGER' },
  { name: 'run_id', type: 'VARCHAR' },
  { name: 'scored_at', type: 'TIMESTAMPTZ' },
];

/** The columns of rejected rows. */
export function rejectColumns(carry: readonly string[], types: ColumnTypes): OutputColumnSpec[] {
  return [
    { name: 'source', type: 'VARCHAR' }, { name: 'source_row', type: 'VARCHAR' },
    ...carry.map((name) => ({ name, type: types.get(name) ?? 'VARCHAR' })),
    { name: 'code', type: 'VARCHAR' }, { name: 'reason', type: 'VARCHAR' }, { name: 'run_id', type: 'VARCHAR' },
  ];
}

/** Output columns for a scored chunk: carried columns with their source types, outputs by dtype and row shape, then the metadata. */
export function outputColumns(carry: readonly string[], types: ColumnTypes, result: ScoreResult): OutputColumnSpec[] {
  const clash = META_COLUMNS.map((m) => m.name).filter((n) => carry.includes(n) || result.outputs.some((o) => o.name === n));
  if (clash.length > 0) throw ferry('FERRY_E_COLUMN_CLASH', { columns: quoteList(clash), what: `the metadata columns batch adds (${quoteList(META_COLUMNS.map((m) => m.name))})` });
  const outputs = result.outputs.map((o) => {
    const base = o.dtype === 'string' ? 'VARCHAR' : o.dtype === 'bool' ? 'BOOLEAN' : o.dtype.startsWith('int') || o.dtype.startsWith('uint') ? 'BIGINT' : 'DOUBLE';
    return { name: o.name, type: base + '[]'.repeat(o.rowShape.length) };
  });
  return [...carry.map((name) => ({ name, type: types.get(name) ?? 'VARCHAR' })), ...outputs, ...META_COLUMNS];
}

/**
 * The output of a scored chunk, by column: the carried cells of the scored rows, each output's
 * tensor as the runtime returned it, and the metadata once. The same values as `ferry predict`'s
 * records plus the metadata columns, without an object per row.
 */
export function outputTable(result: ScoreResult, frame: Frame, carry: readonly string[], types: ColumnTypes, runId: string, scoredAt: string): OutputTable {
  const clash = carry.filter((c) => result.outputs.some((o) => o.name === c));
  if (clash.length > 0) throw ferry('FERRY_E_COLUMN_CLASH', { columns: quoteList(clash), what: 'a model output' });
  const specs = outputColumns(carry, types, result);
  const all = result.rows.length === frame.length;
  const columns: TableColumn[] = specs.map((spec, i): TableColumn => {
    if (i < carry.length) {
      const cells = frame.column(spec.name) ?? [];
      return { ...spec, data: { kind: 'cells', values: all ? cells : result.rows.map((r) => cells[r] ?? null) } };
    }
    const output = result.outputs[i - carry.length];
    if (output) return { ...spec, data: output.tensor ? { kind: 'tensor', tensor: output.tensor, rowShape: output.rowShape } : { kind: 'cells', values: output.values } };
    const meta: Readonly<Record<string, unknown>> = { model: result.model, model_version: result.version, run_id: runId, scored_at: scoredAt };
    return { ...spec, data: { kind: 'constant', value: meta[spec.name] ?? null } };
  });
  return { length: result.rows.length, columns };
}

/** The output rows of a chunk: exactly `ferry predict`'s records, plus the metadata columns. */
export function outputRecords(result: ScoreResult, frame: Frame, carry: readonly string[], runId: string, scoredAt: string): OutputRecord[] {
  return predictionRecords(result, frame, carry).map((r) => {
    for (const [k, v] of Object.entries(r)) if (typeof v === 'bigint') r[k] = Number(v);
    r.model = result.model;
    r.model_version = result.version;
    r.run_id = runId;
    r.scored_at = scoredAt;
    return r;
  });
}

/** A rejected row: where it came from, its key columns, and why (catalog code and message). */
export function rejectRecord(position: RowPosition, frame: Frame, row: number, carry: readonly string[], code: string, reason: string, runId: string): OutputRecord {
  const record: Record<string, unknown> = { source: position.source, source_row: String(position.row) };
  for (const c of carry) {
    const v = frame.column(c)?.[row] ?? null;
    record[c] = typeof v === 'bigint' ? Number(v) : v;
  }
  record.code = code;
  record.reason = reason;
  record.run_id = runId;
  return record;
}


/** The output column holding each row's prediction id when the run logs its predictions (null for chunks sampled out). */
export const PREDICTION_ID_COLUMN: OutputColumnSpec = { name: 'prediction_id', type: 'VARCHAR' };
