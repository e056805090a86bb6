import { parse as parseCsv } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ferry } from '../../core/errors.js';
import { ColumnFrame, type Cell, type Frame } from '../../core/frame.js';
import type { OutputRecord } from '../output-record.js';

/** A CSV file with a header row: a Frame. */
export function parseCsvText(text: string, source: string): Frame {
  let records: string[][];
  try {
    // Every line ending, mixed in one file (a CRLF header with LF rows appended): csv-parse otherwise keeps the first it meets.
    records = parseCsv(text, { bom: true, skip_empty_lines: true, relax_quotes: false, record_delimiter: ['\r\n', '\n', '\r'] });
  } catch (err) {
    throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'CSV', detail: err instanceof Error ? err.message : String(err) }, err);
  }
  const [header, ...rows] = records;
  if (!header) return ColumnFrame.fromRecords([], []);
  const names = header.map((h) => h.trim());
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'CSV', detail: `the header names column "${dup}" twice` });
  const blank = names.findIndex((n) => n === '');
  if (blank >= 0) throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'CSV', detail: `header column ${blank + 1} has no name` });
  return ColumnFrame.fromRecords(names, rows.map((r) => r.map(csvCell)));
}

/**
 * CSV has no types: a cell whose text is exactly a number's canonical form ("3", "0.25",
 * "-1e-7") becomes that number, so keys and passthrough columns come out as numbers; any other
 * text ("007", "1.50", "abc") stays as written. Validation accepts numbers and numeric text alike.
 */
export function csvCell(text: string): Cell {
  if (text === '' || text.length > 24) return text;
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text ? n : text;
}

export /** CSV with multi-valued outputs expanded into `name_0`, `name_1`… (`name_0_1` when nested). */
function toCsv(records: readonly OutputRecord[]): string {
  const flat = records.map((r) => {
    const out: Record<string, Cell> = {};
    for (const [k, v] of Object.entries(r)) flatten(k, v, out);
    return out;
  });
  const header: string[] = [];
  const seen = new Set<string>();
  for (const row of flat) for (const k of Object.keys(row)) if (!seen.has(k)) { seen.add(k); header.push(k); }
  const rows = flat.map((row) => header.map((h) => cellText(row[h])));
  return stringify([header, ...rows]);
}

function flatten(name: string, value: unknown, out: Record<string, Cell>): void {
  if (Array.isArray(value)) value.forEach((v, i) => flatten(`${name}_${i}`, v, out));
  else out[name] = value === undefined ? null : (value as Cell);
}

function cellText(cell: Cell | undefined): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  return typeof cell === 'object' ? JSON.stringify(cell) : String(cell);
}
