import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { ferry } from '../core/errors.js';
import { ColumnFrame, toCell, type Cell, type Frame } from '../core/frame.js';

/** File formats a Frame can be read from. */
export type InputFormat = 'csv' | 'jsonl' | 'json';

const EXTENSIONS: Readonly<Record<string, InputFormat>> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json' };

/** The format of a path by its extension, or the one given. */
export function inputFormatOf(path: string, given?: string): InputFormat {
  const format = given ?? EXTENSIONS[extname(path).toLowerCase()];
  if (format === 'csv' || format === 'jsonl' || format === 'json') return format;
  throw ferry('FERRY_E_USAGE', { detail: `Cannot tell the format of "${path}": use a .csv, .jsonl or .json file, or pass --input-format csv|jsonl|json.` });
}

/** Read a whole data file (or `-` for standard input) into a Frame. */
export async function readFrame(path: string, format?: string): Promise<Frame> {
  const fmt = path === '-' ? inputFormatOf(path, format ?? 'jsonl') : inputFormatOf(path, format);
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err);
  }
  const source = path === '-' ? 'standard input' : `"${path}"`;
  if (text.includes('\u0000')) throw ferry('FERRY_E_INPUT_FORMAT', { source, format: fmt.toUpperCase(), detail: 'it holds binary data' });
  const frame = parseText(text, fmt, source);
  if (frame.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source });
  return frame;
}

/** Parse data held in memory (used for files, request bodies and messages alike). */
export function parseText(text: string, format: InputFormat, source: string): Frame {
  switch (format) {
    case 'csv': return parseCsvText(text, source);
    case 'jsonl': return parseJsonLines(text, source);
    case 'json': return parseJsonDocument(text, source);
  }
}

function parseCsvText(text: string, source: string): Frame {
  let records: string[][];
  try {
    records = parseCsv(text, { bom: true, skip_empty_lines: true, relax_quotes: false });
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

function parseJsonLines(text: string, source: string): Frame {
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

/**
 * A JSON document: an array of row objects; an object of equal-length arrays (columns, or
 * named tensors such as `{"input": [[…], […]]}`); `{"inputs": {…}}` or `{"instances": […]}`
 * as MLflow and KServe send them; or one row object.
 */
function parseJsonDocument(text: string, source: string): Frame {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'JSON', detail: (err as Error).message }, err);
  }
  return frameFromJson(doc, source);
}

/** Turn a parsed JSON value of one of the accepted shapes into a Frame. */
export function frameFromJson(doc: unknown, source: string): Frame {
  const bad = (detail: string) => ferry('FERRY_E_INPUT_FORMAT', { source, format: 'JSON', detail });
  if (Array.isArray(doc)) {
    const i = doc.findIndex((r) => !isPlainObject(r));
    if (i >= 0) throw bad(`element ${i + 1} of the array is not an object of column values`);
    return ColumnFrame.fromRows(doc as Record<string, unknown>[]);
  }
  if (!isPlainObject(doc)) throw bad('expected an array of rows or an object of columns');
  if (isPlainObject(doc.inputs)) return frameFromJson(doc.inputs, source);
  if (Array.isArray(doc.instances)) return frameFromJson(doc.instances, source);
  const entries = Object.entries(doc);
  if (entries.length > 0 && entries.every(([, v]) => Array.isArray(v))) {
    const lengths = new Set(entries.map(([, v]) => (v as unknown[]).length));
    if (lengths.size > 1) throw bad(`the columns have different lengths (${[...lengths].join(', ')})`);
    const data = new Map<string, Cell[]>(entries.map(([k, v]) => [k, (v as unknown[]).map(toCell)]));
    return new ColumnFrame(data, [...lengths][0] ?? 0);
  }
  return ColumnFrame.fromRows([doc]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
