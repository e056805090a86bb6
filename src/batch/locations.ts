import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ferry } from '../core/errors.js';
import { extensionList, FILE_FORMATS, fileFormatOfPath, resolveFileFormat, type FileFormat, type FileFormatName } from '../data/file-formats.js';
import { sqlString } from './duckdb.js';


/** A PostgreSQL location: `postgres://…/db?table=[schema.]name`, or a query given separately. */
export interface PgLocation {
  readonly url: string;
  readonly table: { readonly schema: string | undefined; readonly name: string } | undefined;
}

export function isPostgres(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/** Split `postgres://…?table=schema.name` into the connection URL and the table. */
export function parsePgLocation(location: string): PgLocation {
  const url = new URL(location);
  const table = url.searchParams.get('table') ?? undefined;
  url.searchParams.delete('table');
  if (table === undefined) return { url: url.toString(), table: undefined };
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(p))) {
    throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location: redact(location), detail: `table "${table}" must be a plain name or schema.name.` });
  }
  return { url: url.toString(), table: parts.length === 2 ? { schema: parts[0], name: parts[1] ?? '' } : { schema: undefined, name: parts[0] ?? '' } };
}

/** A URL with its password hidden, for messages. */
export function redact(location: string): string {
  if (!isPostgres(location)) return location;
  const url = new URL(location);
  if (url.password) url.password = '***';
  return url.toString();
}

/** The format of a file by its extension, or the one given. */
export function fileFormatAt(path: string, given?: string): FileFormat {
  const format = resolveFileFormat(path, given);
  if (format) return format;
  throw ferry('FERRY_E_DATA_FORMAT_UNKNOWN', { path, extensions: extensionList(FILE_FORMATS), how: '--input-format/--output-format, or input_format/output_format in a job' });
}

/** The name of a file's format (fileFormatAt). */
export function fileFormatOf(path: string, given?: string): FileFormatName {
  return fileFormatAt(path, given).name;
}

/**
 * The files an input names: one file, every data file in a folder (recursively), or a glob
 * (`data/2026-*.csv`, `**` allowed). Sorted, so the order — and every row's position — is
 * the same each time the run is resumed.
 */
export async function expandFiles(duck: DuckDBConnection, input: string, format?: string): Promise<string[]> {
  let files: string[];
  if (/[*?[]/.test(input)) {
    files = await globFiles(duck, input);
  } else {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw ferry('FERRY_E_FILE_NOT_FOUND', { path: input });
    files = info.isDirectory() ? (await globFiles(duck, join(input, '**', '*'))).filter((f) => format !== undefined || fileFormatOfPath(f) !== undefined) : [input];
  }
  if (files.length === 0) throw ferry('FERRY_E_BATCH_SOURCE', { source: input, detail: 'no data files match' });
  return files;
}

async function globFiles(duck: DuckDBConnection, pattern: string): Promise<string[]> {
  const result = await duck.runAndReadAll(`select file from glob(${sqlString(pattern)}) order by file`);
  return result.getRows().map((r) => String(r[0])).filter((f) => !f.split('/').some((part) => part.startsWith('.')));
}
