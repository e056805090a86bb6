import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ferry, FerryError } from '../core/errors.js';
import { fileFormat, resolveFileFormat, type FileFormatName } from './file-formats.js';
import type { OutputRecord } from './output-record.js';

export type { OutputRecord } from './output-record.js';

/** The name of the format a path's extension (or `given`) names, among those Ferry writes itself (JSON Lines, CSV, JSON). */
export function outputFormatOf(path: string, given?: string): FileFormatName {
  const format = resolveFileFormat(path, given);
  if (format?.serialise) return format.name;
  throw ferry('FERRY_E_OUTPUT_FORMAT', { path, detail: 'use a .jsonl, .csv or .json file name, or pass --output-format jsonl|csv|json' });
}

/** Serialise records: JSON Lines (one object per row), a JSON array, or CSV with arrays expanded. */
export function serialise(records: readonly OutputRecord[], format: FileFormatName): string {
  const serialiser = fileFormat(format)?.serialise;
  if (!serialiser) throw ferry('FERRY_E_INTERNAL', { detail: `Ferry does not write the ${format} format itself` });
  return serialiser(records);
}

/**
 * Write the file whole or not at all: to a temp file beside it, fsynced, then renamed,
 * so a crash or a full disk never leaves a truncated output under the final name.
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof FerryError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw ferry('FERRY_E_STORAGE_FULL', { what: 'predictions', location: path }, err);
    throw ferry('FERRY_E_OUTPUT_FORMAT', { path, detail: err instanceof Error ? err.message : String(err) }, err);
  }
}
