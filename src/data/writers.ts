import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { ferry, FerryError } from '../core/errors.js';
import type { Cell } from '../core/frame.js';

/** A row to write: key/passthrough cells and output values, by column name. */
export type OutputRecord = Readonly<Record<string, unknown>>;

export type OutputFormat = 'jsonl' | 'csv' | 'json';

const EXTENSIONS: Readonly<Record<string, OutputFormat>> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv', '.json': 'json' };

export function outputFormatOf(path: string, given?: string): OutputFormat {
  const format = given ?? EXTENSIONS[extname(path).toLowerCase()];
  if (format === 'jsonl' || format === 'csv' || format === 'json') return format;
  throw ferry('FERRY_E_OUTPUT_FORMAT', { path, detail: 'use a .jsonl, .csv or .json file name, or pass --output-format jsonl|csv|json' });
}

/** Serialise records: JSON Lines (one object per row), a JSON array, or CSV with arrays expanded. */
export function serialise(records: readonly OutputRecord[], format: OutputFormat): string {
  switch (format) {
    case 'jsonl': return records.map((r) => `${JSON.stringify(r, jsonReplacer)}\n`).join('');
    case 'json': return `${JSON.stringify(records, jsonReplacer)}\n`;
    case 'csv': return toCsv(records);
  }
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

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** CSV with multi-valued outputs expanded into `name_0`, `name_1`… (`name_0_1` when nested). */
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
