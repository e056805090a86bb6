import { ferry } from '../../core/errors.js';
import { ColumnFrame, type Frame } from '../../core/frame.js';
import type { OutputRecord } from '../output-record.js';
import { isPlainObject, jsonReplacer } from './json-values.js';

/** JSON Lines: one object of column values per line. */
export function parseJsonLines(text: string, source: string): Frame {
  const rows: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'JSON Lines', detail: `line ${i + 1}: ${(err as Error).message}` }, err);
    }
    if (!isPlainObject(value)) throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'JSON Lines', detail: `line ${i + 1} is not an object of column values` });
    rows.push(value);
  });
  return ColumnFrame.fromRows(rows);
}

/** One JSON object per record, one per line. */
export function toJsonLines(records: readonly OutputRecord[]): string {
  return records.map((r) => `${JSON.stringify(r, jsonReplacer)}\n`).join('');
}
