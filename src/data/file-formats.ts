import { extname } from 'node:path';
import type { Frame } from '../core/frame.js';
import { parseCsvText, toCsv } from './formats/csv.js';
import { parseJsonDocument, toJsonArray } from './formats/json.js';
import { parseJsonLines, toJsonLines } from './formats/jsonl.js';
import type { OutputRecord } from './output-record.js';

/** The names of the file formats Ferry reads and writes. */
export type FileFormatName = 'csv' | 'jsonl' | 'json' | 'parquet';

/**
 * One file format: how files are recognised, and what each part of Ferry does with it.
 * Ferry's own readers and writers (`ferry predict`, request bodies, batch's text parts) use
 * `parse`/`serialise`; batch reads files through DuckDB with `duckdbRead`.
 */
export interface FileFormat {
  readonly name: FileFormatName;
  /** How messages name it ("CSV", "JSON Lines"). */
  readonly label: string;
  /** File name extensions, lower case with the dot; the first is the one Ferry writes. */
  readonly extensions: readonly string[];
  /** Parse a whole text held in memory; absent for binary formats. */
  readonly parse?: (text: string, source: string) => Frame;
  /** Serialise records to text; absent for binary formats (batch writes those through DuckDB). */
  readonly serialise?: (records: readonly OutputRecord[]) => string;
  /** Whether records can be appended to a file already written (batch output resumed chunk by chunk). */
  readonly appendable: boolean;
  /** The DuckDB table function reading a file of this format, given the path as a SQL string literal. */
  readonly duckdbRead: (path: string) => string;
}

/** The table of file formats. Adding a format means its reader/writer functions and one line here. */
export const FILE_FORMATS: readonly FileFormat[] = [
  { name: 'csv', label: 'CSV', extensions: ['.csv'], parse: parseCsvText, serialise: toCsv, appendable: true, duckdbRead: (path) => `read_csv(${path}, header=true, all_varchar=true)` },
  { name: 'jsonl', label: 'JSON Lines', extensions: ['.jsonl', '.ndjson'], parse: parseJsonLines, serialise: toJsonLines, appendable: true, duckdbRead: (path) => `read_json(${path}, format='newline_delimited')` },
  { name: 'json', label: 'JSON', extensions: ['.json'], parse: parseJsonDocument, serialise: toJsonArray, appendable: false, duckdbRead: (path) => `read_json(${path})` },
  { name: 'parquet', label: 'Parquet', extensions: ['.parquet', '.pq'], appendable: false, duckdbRead: (path) => `read_parquet(${path})` },
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
