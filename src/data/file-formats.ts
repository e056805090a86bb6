import { extname } from 'node:path';
import type { Frame } from '../core/frame.js';
import { parseCsvText, toCsv } from './formats/csv.js';
import { parseJsonDocument, toJsonArray } from './formats/json.js';
import { parseJsonLines, toJsonLines } from './formats/jsonl.js';
import { readParquetFile } from './formats/parquet.js';
import type { OutputRecord } from './output-record.js';
import { formatCsv, formatJsonl, type OutputTable } from './output-table.js';

/** The names of the file formats Ferry reads and writes. */
export type FileFormatName = 'csv' | 'jsonl' | 'json' | 'parquet';

/**
 * One file format: how files are recognised, and what each part of Ferry does with it.
 * Ferry's own readers and writers (`ferry predict`, request bodies) use `parse`/`serialise`
 * (`readFile` for a binary format's file);
 * batch reads files through DuckDB with `duckdbRead` and writes its chunks with `formatTable`
 * (text, column by column), `serialise` (text, by record) or `duckdbWrite` (binary, through
 * DuckDB). Batch has faster readers for CSV and JSON Lines (src/batch/file-source.ts); a
 * format without one is read through `duckdbRead`.
 */
export interface FileFormat {
  readonly name: FileFormatName;
  /** How messages name it ("CSV", "JSON Lines"). */
  readonly label: string;
  /** File name extensions, lower case with the dot; the first is the one Ferry writes. */
  readonly extensions: readonly string[];
  /** Parse a whole text held in memory; absent for binary formats. */
  readonly parse?: (text: string, source: string) => Frame;
  /** Read a whole file of a binary format (`ferry predict --input`); text formats are read and parsed. */
  readonly readFile?: (path: string, source: string) => Promise<Frame>;
  /** Serialise records to text; absent for binary formats (batch writes those through DuckDB). */
  readonly serialise?: (records: readonly OutputRecord[]) => string;
  /** Whether records can be appended to a file already written (batch output resumed chunk by chunk). */
  readonly appendable: boolean;
  /** Serialise an output table column by column, as UTF-8 (batch chunks); `header` for the first chunk of a file. Absent: batch uses `serialise`. */
  readonly formatTable?: (table: OutputTable, header: boolean) => Buffer;
  /** The DuckDB table function reading a file of this format, given the path (or a list of paths) as a SQL literal. */
  readonly duckdbRead: (path: string) => string;
  /** For binary formats: the options of DuckDB's COPY that writes a file of this format (batch writes it through DuckDB). */
  readonly duckdbWrite?: string;
}

/**
 * The table of file formats. Adding a format means its reader/writer functions (a file in
 * `formats/`) and one line here: `ferry predict`, request bodies, folder listings and batch
 * (read through `duckdbRead`, written through `formatTable`/`serialise`/`duckdbWrite`) then take it,
 * and test/file-formats.test.ts runs it.
 */
export const FILE_FORMATS: readonly FileFormat[] = [
  { name: 'csv', label: 'CSV', extensions: ['.csv'], parse: parseCsvText, serialise: toCsv, appendable: true, formatTable: formatCsv, duckdbRead: (path) => `read_csv(${path}, header=true, all_varchar=true)` },
  { name: 'jsonl', label: 'JSON Lines', extensions: ['.jsonl', '.ndjson'], parse: parseJsonLines, serialise: toJsonLines, appendable: true, formatTable: (table) => formatJsonl(table), duckdbRead: (path) => `read_json(${path}, format='newline_delimited')` },
  { name: 'json', label: 'JSON', extensions: ['.json'], parse: parseJsonDocument, serialise: toJsonArray, appendable: false, duckdbRead: (path) => `read_json(${path})` },
  { name: 'parquet', label: 'Parquet', extensions: ['.parquet', '.pq'], readFile: readParquetFile, appendable: false, duckdbRead: (path) => `read_parquet(${path})`, duckdbWrite: 'format parquet' },
];

/** The format called `name`, if there is one. */
export function fileFormat(name: string): FileFormat | undefined {
  return FILE_FORMATS.find((f) => f.name === name);
}

/** The format a path's extension names, if any. */
export function fileFormatOfPath(path: string): FileFormat | undefined {
  const ext = extname(path).toLowerCase();
  return FILE_FORMATS.find((f) => f.extensions.includes(ext));
}

/** The format given by name, else the one the path's extension names; undefined when neither is known. */
export function resolveFileFormat(path: string, given?: string): FileFormat | undefined {
  return given !== undefined ? fileFormat(given) : fileFormatOfPath(path);
}

/** `.csv, .jsonl or .parquet`: the formats' first extensions, for messages. */
export function extensionList(formats: readonly FileFormat[]): string {
  const extensions = formats.map((f) => f.extensions[0] ?? '');
  return extensions.length > 1 ? `${extensions.slice(0, -1).join(', ')} or ${extensions.at(-1) ?? ''}` : extensions.join('');
}
