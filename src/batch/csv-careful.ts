/**
 * CSV files DuckDB's reader refuses as a whole — a line with more or fewer fields than the
 * header, an unbalanced quote, CRLF and LF line endings mixed in one file — read record by record
 * with csv-parse, as `ferry predict` reads CSV: each bad record becomes one unreadable row (a
 * reject with its line and reason) and every other row is scored. Cells are those DuckDB's
 * reading of a clean file gives (csv-plan.ts): a feature's text that is a finite number becomes
 * that number, other text stays for validation, an empty cell is missing; carried columns (keys,
 * passthrough) are converted by `csvCell` as `ferry predict` converts them.
 */
import { createReadStream } from 'node:fs';
import { parse, type CsvError, type Info, type Options } from 'csv-parse';
import { ferry, FerryError } from '../core/errors.js';
import { ColumnFrame, type Cell } from '../core/frame.js';
import { csvCell } from '../data/formats/csv.js';
import type { SourceChunk } from './source.js';

/** csv-parse's options for every careful read: any line ending, a record's field count checked here. */
const OPTIONS: Options = { bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, relax_quotes: true, skip_records_with_error: true, info: true };

/** The header of a comma-separated file as `ferry predict` reads it (trimmed names), or undefined when it has none. */
export async function csvHeader(file: string): Promise<string[] | undefined> {
  const parser = createReadStream(file, { highWaterMark: 1 << 16 }).pipe(parse({ ...OPTIONS, to_line: 1, info: false }));
  try {
    for await (const record of parser) return (record as string[]).map((h) => h.trim());
    return undefined;
  } catch {
    return undefined;
  } finally {
    parser.destroy();
  }
}

/** Data records of a file read carefully (bad ones included: each is a row, rejected). */
export async function countCsvRecords(file: string): Promise<number> {
  let n = 0;
  for await (const row of careful(file)) if (row.kind !== 'header') n++;
  return n;
}

type CarefulRow =
  | { readonly kind: 'header'; readonly names: readonly string[] }
  | { readonly kind: 'record'; readonly line: number; readonly fields: readonly string[] }
  | { readonly kind: 'bad'; readonly line: number; readonly reason: string };

/**
 * Every record of the file in line order: the header, then records and bad records (those
 * csv-parse skips raise a `skip` event, queued here and handed out where their line falls). A
 * quote that is never closed would take the rest of the file into one field: its line is a bad
 * record and parsing starts again on the line after it.
 */
async function* careful(file: string): AsyncGenerator<CarefulRow> {
  let header = true;
  let from = 1;
  for (;;) {
    const start = from === 1 ? 0 : await offsetOfLine(file, from);
    if (start === undefined) return;
    const parser = createReadStream(file, { start }).pipe(parse(from === 1 ? OPTIONS : { ...OPTIONS, bom: false }));
    const skipped: { line: number; reason: string }[] = [];
    let last = from - 1;
    let unclosed: number | undefined;
    parser.on('skip', (err: CsvError & { lines?: number }) => {
      if (err.code === 'CSV_QUOTE_NOT_CLOSED') unclosed = last + 1;
      else skipped.push({ line: from - 1 + Number(err.lines ?? 0), reason: err.message });
    });
    try {
      for await (const item of parser) {
        const { record, info } = item as { record: string[]; info: Info };
        const line = from - 1 + info.lines;
        while (skipped.length > 0 && (skipped[0]?.line ?? 0) < line) {
          const bad = skipped.shift() as { line: number; reason: string };
          if (!header) yield { kind: 'bad', ...bad };
        }
        last = line;
        if (header) {
          header = false;
          yield { kind: 'header', names: record.map((h) => h.trim()) };
        } else yield { kind: 'record', line, fields: record };
      }
      for (const bad of skipped) if (!header) yield { kind: 'bad', ...bad };
    } finally {
      parser.destroy();
    }
    if (unclosed === undefined || header) return;
    yield { kind: 'bad', line: unclosed, reason: 'a quote opened on this line is never closed' };
    from = Math.max(from + 1, unclosed + 1);
  }
}

/** The byte offset where line `n` (1-based; CRLF, LF and CR each end a line) starts, or undefined past the end. */
async function offsetOfLine(file: string, n: number): Promise<number | undefined> {
  let line = 1;
  let offset = 0;
  let cr = false;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (cr) {
        cr = false;
        line++;
        if (b === 10) {
          if (line === n) return offset + i + 1;
          continue;
        }
        if (line === n) return offset + i;
      }
      if (b === 13) cr = true;
      else if (b === 10) {
        line++;
        if (line === n) return offset + i + 1;
      }
    }
    offset += buf.length;
  }
  return cr && line + 1 === n ? offset : undefined;
}

/**
 * The rows of file number `f` from data row `skip` on, in chunks of `chunkSize`; `types` learns
 * each column's type from its first chunk. A record with the wrong number of fields or broken
 * quoting is an unreadable row at its place (counted as a row, so later rows keep their numbers).
 */
export async function* readCsvCarefully(f: number, file: string, skip: number, chunkSize: number, carried: ReadonlySet<string>, learn: (frame: ColumnFrame) => void): AsyncGenerator<SourceChunk> {
  let names: readonly string[] = [];
  let convert: ((text: string) => Cell)[] = [];
  let row = 0;
  let records: Cell[][] = [];
  let places: number[] = [];
  let unreadable: SourceChunk['unreadable'][number][] = [];
  const flush = (): SourceChunk => {
    const frame = ColumnFrame.fromRecords([...names], records);
    learn(frame);
    const at = places;
    const chunk: SourceChunk = { frame, unreadable, position: (i) => ({ source: file, row: at[i] ?? 0 }), end: { kind: 'files', file: f, row: at[at.length - 1] ?? row } };
    records = [];
    places = [];
    unreadable = [];
    return chunk;
  };
  const refuse = (line: number, detail: string) => {
    unreadable.push({ index: records.length, code: 'FERRY_E_INPUT_FORMAT', message: ferry('FERRY_E_INPUT_FORMAT', { source: `"${file}"`, format: 'CSV', detail: `line ${line}: ${detail}` }).message });
    records.push(names.map(() => null));
  };
  try {
    for await (const item of careful(file)) {
      if (item.kind === 'header') {
        names = checkedHeader(item.names, file);
        convert = names.map((n) => (carried.has(n) ? csvCell : featureCell));
        continue;
      }
      row++;
      if (row <= skip) continue;
      if (item.kind === 'bad') refuse(item.line, item.reason);
      else if (item.fields.length !== names.length) refuse(item.line, `the row has ${item.fields.length} field(s) where the header has ${names.length}`);
      else records.push(item.fields.map((text, i) => (convert[i] as (text: string) => Cell)(text)));
      places.push(row);
      if (records.length === chunkSize) yield flush();
    }
  } catch (err) {
    throw err instanceof FerryError ? err : ferry('FERRY_E_BATCH_SOURCE', { source: file, detail: err instanceof Error ? err.message : String(err) }, err);
  }
  if (records.length > 0) yield flush();
}

/** A feature cell as the DuckDB plan reads it: `try_cast(text as double)` when finite, else the text; empty is missing. */
function featureCell(text: string): Cell {
  if (text === '') return null;
  // Number() also reads hexadecimal, binary and octal literals, which DuckDB's cast does not.
  const n = Number(text);
  return Number.isFinite(n) && !/^\s*[-+]?0[xXbBoO]/.test(text) ? n : text;
}

/** The header's names, refused as `ferry predict` refuses them (a blank or repeated name). */
function checkedHeader(names: readonly string[], file: string): readonly string[] {
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw ferry('FERRY_E_INPUT_FORMAT', { source: `"${file}"`, format: 'CSV', detail: `the header names column "${dup}" twice` });
  const blank = names.findIndex((n) => n === '');
  if (blank >= 0) throw ferry('FERRY_E_INPUT_FORMAT', { source: `"${file}"`, format: 'CSV', detail: `header column ${blank + 1} has no name` });
  return names;
}
