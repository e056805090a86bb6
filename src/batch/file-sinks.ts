import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ferry, FerryError } from '../core/errors.js';
import { sqlIdent, sqlString } from './duckdb.js';
import type { FileFormat } from '../data/file-formats.js';
import { writeDuckColumns } from './duck-append.js';
import { formatJsonl, tableRecords, type OutputTable } from '../data/output-table.js';
import type { BatchSink } from './sink.js';
import type { SinkState } from './types.js';

/**
 * One file of an appendable text format (CSV, JSON Lines), appended chunk by chunk through one open handle (fsynced by
 * `sync`, before each checkpoint). The checkpoint holds the file's length; resuming truncates
 * the file to it, so rows written after the last checkpoint by a killed process are dropped and
 * written again exactly once.
 */
export class AppendFileSink implements BatchSink {
  readonly description: string;
  readonly #path: string;
  readonly #format: FileFormat;
  #bytes = 0;
  #fh: FileHandle | undefined;

  constructor(path: string, format: FileFormat) {
    this.#path = path;
    this.#format = format;
    this.description = path;
  }

  async open(state: SinkState | null): Promise<void> {
    this.#bytes = typeof state?.bytes === 'number' ? state.bytes : 0;
    await guard(this.#path, async () => {
      await mkdir(dirname(this.#path), { recursive: true });
      const exists = await stat(this.#path).catch(() => undefined);
      if (exists) await truncate(this.#path, this.#bytes);
      else await writeFile(this.#path, '');
      this.#fh = await open(this.#path, 'r+');
    });
  }

  async write(_seq: number, table: OutputTable): Promise<SinkState> {
    const fh = this.#fh;
    if (!fh) throw ferry('FERRY_E_INTERNAL', { detail: 'AppendFileSink.write before open' });
    const bytes = formatText(this.#format, table, this.#bytes === 0);
    await guard(this.#path, async () => {
      let done = 0;
      while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done, this.#bytes + done)).bytesWritten;
    });
    this.#bytes += bytes.length;
    return { bytes: this.#bytes };
  }

  async sync(): Promise<void> {
    const fh = this.#fh;
    if (fh) await guard(this.#path, () => fh.sync());
  }

  finish(): Promise<void> { return Promise.resolve(); }
  cleanup(): Promise<void> { return Promise.resolve(); }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}

/**
 * A folder of part files, one per chunk: `part-<run>-000001.parquet`, … Each part is written
 * under a temporary name and renamed when complete; resuming deletes this run's parts past the
 * checkpoint. Other runs' parts in the folder are left alone (a data-lake folder many runs append to).
 */
export class PartsSink implements BatchSink {
  readonly description: string;
  readonly #dir: string;
  readonly #tag: string;
  readonly #format: FileFormat;
  /** The parts' file name extension, without the dot. */
  readonly #ext: string;
  readonly #duck: () => Promise<DuckDBConnection>;
  /** Parts renamed into place since the last `sync`. */
  #unsynced: string[] = [];
  #connection: DuckDBConnection | undefined;

  constructor(dir: string, tag: string, format: FileFormat, duck: () => Promise<DuckDBConnection>) {
    this.#dir = dir;
    this.#tag = tag;
    this.#format = format;
    this.#ext = (format.extensions[0] ?? `.${format.name}`).slice(1);
    this.#duck = duck;
    this.description = `${dir}/part-${tag}-*.${this.#ext}`;
  }

  async open(state: SinkState | null): Promise<void> {
    const done = typeof state?.seq === 'number' ? state.seq : 0;
    await guard(this.#dir, async () => {
      await mkdir(this.#dir, { recursive: true });
      for (const name of await readdir(this.#dir)) {
        const seq = this.#seqOf(name);
        if (seq !== undefined && seq > done) await rm(join(this.#dir, name), { force: true });
        if (name.startsWith(`.part-${this.#tag}-`)) await rm(join(this.#dir, name), { force: true });
      }
    });
  }

  /** The parts of this run, in order. */
  async parts(): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.filter((n) => this.#seqOf(n) !== undefined).sort().map((n) => join(this.#dir, n));
  }

  #seqOf(name: string): number | undefined {
    const prefix = `part-${this.#tag}-`;
    if (!name.startsWith(prefix) || !name.endsWith(`.${this.#ext}`)) return undefined;
    const seq = Number(name.slice(prefix.length, -this.#ext.length - 1));
    return Number.isInteger(seq) ? seq : undefined;
  }

  async write(seq: number, table: OutputTable): Promise<SinkState> {
    const name = `part-${this.#tag}-${String(seq).padStart(6, '0')}.${this.#ext}`;
    const tmp = join(this.#dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    await guard(this.#dir, async () => {
      const copy = this.#format.duckdbWrite;
      if (copy !== undefined) await writeThroughDuck(this.#connection ??= await this.#duck(), tmp, table, `ferry_part_${this.#tag}`, copy);
      else await writeFile(tmp, formatText(this.#format, table, true));
      await rename(tmp, join(this.#dir, name));
    }, tmp);
    this.#unsynced.push(join(this.#dir, name));
    return { seq };
  }

  /** fsync the parts written since the last sync, then the folder (their names). */
  async sync(): Promise<void> {
    const parts = this.#unsynced;
    if (parts.length === 0) return;
    await guard(this.#dir, async () => {
      for (const part of parts) await fsyncPath(part);
      await fsyncPath(this.#dir);
    });
    this.#unsynced = [];
  }

  finish(): Promise<void> { return Promise.resolve(); }
  cleanup(): Promise<void> { return Promise.resolve(); }
  close(): Promise<void> { return Promise.resolve(); }
}

/**
 * One file of a format DuckDB writes (Parquet). Chunks are staged as parts in a hidden folder
 * beside it; `finish` joins them into a temporary file and renames it, so the file appears
 * under its name only when complete.
 */
export class DuckFileSink implements BatchSink {
  readonly description: string;
  readonly #path: string;
  readonly #format: FileFormat;
  readonly #copy: string;
  readonly #parts: PartsSink;
  readonly #stage: string;
  readonly #duck: () => Promise<DuckDBConnection>;

  /** `copy`: the format's `duckdbWrite` (COPY options). */
  constructor(path: string, format: FileFormat, copy: string, tag: string, duck: () => Promise<DuckDBConnection>) {
    this.#path = path;
    this.#format = format;
    this.#copy = copy;
    this.#stage = join(dirname(path), `.${basename(path)}.parts`);
    this.#parts = new PartsSink(this.#stage, tag, format, duck);
    this.#duck = duck;
    this.description = path;
  }

  open(state: SinkState | null): Promise<void> { return this.#parts.open(state); }

  write(seq: number, table: OutputTable): Promise<SinkState> {
    return this.#parts.write(seq, table);
  }

  sync(): Promise<void> { return this.#parts.sync(); }

  async finish(): Promise<void> {
    const parts = await this.#parts.parts();
    const tmp = join(dirname(this.#path), `.${basename(this.#path)}.${randomBytes(4).toString('hex')}.tmp`);
    await guard(this.#path, async () => {
      const duck = await this.#duck();
      if (parts.length === 0) await duck.run(`copy (select null::varchar as no_rows where false) to ${sqlString(tmp)} (${this.#copy})`);
      else {
        // One thread streams the parts in order with constant memory; two reorder row groups in
        // memory that grows with the file (and are slower here).
        await duck.run('set threads = 1');
        try {
          await duck.run(`copy (select * from ${this.#format.duckdbRead(`[${parts.map(sqlString).join(', ')}]`)}) to ${sqlString(tmp)} (${this.#copy})`);
        } finally {
          await duck.run('reset threads');
        }
      }
      await fsyncPath(tmp);
      await rename(tmp, this.#path);
    }, tmp);
  }

  async cleanup(): Promise<void> {
    const parts = await this.#parts.parts();
    for (const p of parts) await rm(p, { force: true });
    await rm(this.#stage, { recursive: true, force: true }).catch(() => undefined);
  }

  close(): Promise<void> { return Promise.resolve(); }
}

/** A chunk as the text of a format (UTF-8 bytes): column by column where the format can, else by record. */
function formatText(format: FileFormat, table: OutputTable, header: boolean): Buffer {
  if (format.formatTable) return format.formatTable(table, header);
  if (format.serialise) return Buffer.from(format.serialise(tableRecords(table)));
  throw ferry('FERRY_E_INTERNAL', { detail: `${format.label} has no text writer` });
}

/**
 * A table → a file DuckDB writes with COPY options `copy` (Parquet), with the columns' declared
 * types (lists stay lists): from memory through an appender, or — for columns that path does
 * not take — as JSON Lines text DuckDB reads back with those types.
 */
async function writeThroughDuck(duck: DuckDBConnection, path: string, table: OutputTable, staging: string, copy: string): Promise<void> {
  if (await writeDuckColumns(duck, path, table, staging, copy)) return;
  const staged = `${path}.jsonl`;
  const columns = table.columns;
  try {
    await writeFile(staged, formatJsonl(table));
    const types = columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
    const select = columns.map((c) => sqlIdent(c.name)).join(', ');
    await duck.run(`copy (select ${select} from read_json(${sqlString(staged)}, format='newline_delimited', columns={${types}})) to ${sqlString(path)} (${copy})`);
  } finally {
    await rm(staged, { force: true });
  }
}

/** fsync a file or a folder by path. */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function guard(location: string, fn: () => Promise<void>, tmp?: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (tmp) await rm(tmp, { force: true }).catch(() => undefined);
    if (err instanceof FerryError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw ferry('FERRY_E_STORAGE_FULL', { what: 'batch output', location }, err);
    throw ferry('FERRY_E_BATCH_SINK', { sink: location, detail: err instanceof Error ? err.message : String(err) }, err);
  }
}

/** Whether an output path names one file (by its extension) rather than a folder of parts. */
export function isSingleFile(path: string): boolean {
  return ['.csv', '.jsonl', '.ndjson', '.parquet', '.pq', '.json'].includes(extname(path).toLowerCase()) && !path.endsWith('/');
}
