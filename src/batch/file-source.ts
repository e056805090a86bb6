import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import duckdb from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import { ferry, FerryError } from '../core/errors.js';
import { ColumnFrame, type Cell } from '../core/frame.js';
import { fileFormat, type FileFormatName } from '../data/file-formats.js';
import { csvCell } from '../data/formats/csv.js';
import { countCsvRecords, csvHeader, readCsvCarefully } from './csv-careful.js';
import { countCsvRows, csvPlan, placeColumn, typedHelps, withPlace, type CsvColumn, type CsvLayout } from './csv-plan.js';
import { DuckColumnBuilder, duckColumnKind } from './duck-columns.js';
import { duckCell, sqlIdent, sqlString } from './duckdb.js';
import { duckShardSql } from './shard.js';
import { fileFormatOf } from './locations.js';
import type { BatchSource, ColumnTypes, SourceChunk } from './source.js';
import type { SourcePosition } from './types.js';

/**
 * CSV, JSON Lines, JSON and Parquet files, one after the other in a fixed order. CSV is read
 * by DuckDB as text and converted cell by cell exactly as `ferry predict` does (so bad cells
 * become per-row rejects, not a failed read); Parquet and JSON keep DuckDB's types; JSON Lines
 * are read line by line so a malformed line is a reject at its line number. Nothing is read
 * whole: rows stream in chunks.
 */
export class FileSource implements BatchSource {
  readonly description: string;
  readonly #duck: DuckDBConnection;
  readonly #files: readonly string[];
  readonly #format: string | undefined;
  readonly #types = new Map<string, string>();
  readonly #rows = new Map<string, number | undefined>();
  readonly #layouts = new Map<string, Promise<CsvLayout>>();
  readonly #textColumns: ReadonlySet<string>;
  readonly #shard: ShardFilter | undefined;

  /**
   * `textColumns`: CSV columns kept exactly as `ferry predict` reads them (keys, passthrough, watermark).
   * `shard`: read only the rows of this shard (hash 2 of the key, in the query) from every format
   * DuckDB reads; JSON Lines rows are left to the runner's filter.
   */
  constructor(duck: DuckDBConnection, files: readonly string[], format: string | undefined, description: string, textColumns: readonly string[] = [], shard?: ShardFilter) {
    this.#duck = duck;
    this.#shard = shard;
    this.#textColumns = new Set(textColumns);
    this.#files = files;
    this.#format = format;
    this.description = description;
  }

  columnTypes(): ColumnTypes {
    return this.#types;
  }

  async count(): Promise<number | undefined> {
    let total = 0;
    for (const file of this.#files) {
      const format = fileFormatOf(file, this.#format);
      if (format === 'jsonl') {
        total += await countLines(file);
        continue;
      }
      // The layout is sniffed by DuckDB's threads while the rows are counted here (kept for the read).
      const [rows, layout] = format === 'csv' ? await Promise.all([this.#csvRows(file), this.#csvLayout(file)]) : [undefined, undefined];
      if (layout?.careful) {
        total += rows ?? await this.#run(file, () => countCsvRecords(file));
        continue;
      }
      if (rows !== undefined) {
        total += rows;
        continue;
      }
      const result = await this.#run(file, () => this.#duck.runAndReadAll(`select count(*) from ${reader(file, format)}`));
      total += Number(result.getRows()[0]?.[0] ?? 0);
    }
    return total;
  }

  async *read(from: SourcePosition | undefined, chunkSize: number): AsyncIterable<SourceChunk> {
    const start = from?.kind === 'files' ? from : { kind: 'files' as const, file: 0, row: 0 };
    for (let f = start.file; f < this.#files.length; f++) {
      const file = this.#files[f] ?? '';
      const skip = f === start.file ? start.row : 0;
      const format = fileFormatOf(file, this.#format);
      if (format === 'jsonl') yield* this.#readLines(f, file, skip, chunkSize);
      else if (format === 'csv' && (await this.#csvLayout(file)).careful) yield* this.#readCareful(f, file, skip, chunkSize);
      else if (this.#shard) yield* this.#readShard(f, file, format, skip, chunkSize, this.#shard);
      else yield* this.#readDuck(f, file, format, skip, chunkSize);
    }
  }

  async *#readDuck(f: number, file: string, format: Exclude<FileFormatName, 'jsonl'>, skip: number, chunkSize: number): AsyncGenerator<SourceChunk> {
    // Types first: a query on the connection ends a streaming result that is still open.
    const layout = format === 'csv' ? await this.#csvLayout(file) : undefined;
    // The typed CSV read needs the file's row count, to tell the end of the file from a read
    // that stopped at a cell it could not convert (DuckDB raises that error or, reading from the
    // start, ends the stream as if the file ended there).
    const expected = layout && typedHelps(layout, this.#textColumns) ? await this.#csvRows(file) : undefined;
    let typed = expected !== undefined;
    let start: number | undefined = skip;
    while (start !== undefined) {
      const plan = layout ? csvPlan(file, layout, this.#textColumns, typed, start) : undefined;
      const query: FileQuery = plan
        ? { sql: plan.sql, names: plan.columns.map((p) => p.name), columns: plan.columns, csv: true }
        : { sql: `select * from ${reader(file, format)}${start > 0 ? ` offset ${start}` : ''}`, csv: false };
      start = yield* this.#orCareful(f, file, this.#query(f, file, query, typed, start, chunkSize, expected, layout !== undefined), start, chunkSize, layout !== undefined);
      typed = false;
    }
  }

  /**
   * The rows of one shard: the hash filter runs in the query, and each row keeps its place in the
   * file (`with ordinality`, counted before the filter) for its reject position and the resume
   * position. The file's last CSV row is read too, whatever its shard, to see the read reach the
   * end (a typed read that stops early is read on as text, as in `#readDuck`).
   */
  async *#readShard(f: number, file: string, format: Exclude<FileFormatName, 'jsonl'>, skip: number, chunkSize: number, shard: ShardFilter): AsyncGenerator<SourceChunk> {
    const layout = format === 'csv' ? await this.#csvLayout(file) : undefined;
    let names: string[];
    let types: string[];
    if (layout) {
      names = [...layout.names];
      types = names.map(() => 'VARCHAR');
    } else {
      const described = await this.#run(file, () => this.#duck.runAndReadAll(`describe select * from ${reader(file, format)}`));
      names = described.getRows().map((r) => String(r[0]));
      types = described.getRows().map((r) => String(r[1]));
      names.forEach((n, i) => { if (!this.#types.has(n)) this.#types.set(n, types[i] ?? 'VARCHAR'); });
    }
    const missing = shard.key.filter((k) => !names.includes(k));
    if (missing.length > 0) throw ferry('FERRY_E_COLUMN_MISSING', { input: '--key (for --shard)', columns: missing.map((k) => `"${k}"`).join(', '), present: names.map((c) => `"${c}"`).join(', ') });
    // CSV keys are hashed as the file spells them (carried columns are text in both plans).
    const keep = duckShardSql(shard.key.map((k) => ({ sql: sqlIdent(k), type: types[names.indexOf(k)] ?? 'VARCHAR' })), shard);
    const last = layout ? await this.#csvRows(file) : undefined;
    // The typed plan, as in `#readDuck`: the last row (always read) tells an early end from the file's end.
    let typed = layout !== undefined && last !== undefined && typedHelps(layout, this.#textColumns);
    let start: number | undefined = skip;
    while (start !== undefined) {
      const plan = layout ? csvPlan(file, layout, this.#textColumns, typed, start, { keep, last }) : undefined;
      const place = placeColumn(names);
      const query: FileQuery = plan
        ? { sql: plan.sql, names, columns: plan.columns, csv: true, shard: { ordinality: plan.ordinality ?? names.length, keep: plan.keep ?? names.length + 1 } }
        : { sql: `select ${names.map(sqlIdent).join(', ')}, ${place}::double, ${keep} from ${withPlace(reader(file, format), names)} where ${place} > ${start} and ${keep}`, names, csv: false, shard: { ordinality: names.length, keep: names.length + 1 } };
      start = yield* this.#orCareful(f, file, this.#query(f, file, query, typed, start, chunkSize, last, layout !== undefined), start, chunkSize, layout !== undefined);
      typed = false;
    }
  }

  /**
   * A CSV read that DuckDB gives up on part way (a bad line past its sniffer's sample: too many
   * fields, line endings that change) is read on record by record from the last row handed out,
   * so the bad line becomes a reject and the rows after it are scored.
   */
  async *#orCareful(f: number, file: string, read: AsyncGenerator<SourceChunk, number | undefined>, start: number, chunkSize: number, csv: boolean): AsyncGenerator<SourceChunk, number | undefined> {
    let handed = start;
    try {
      for (;;) {
        const step = await read.next();
        if (step.done) return step.value;
        const end = step.value.end;
        if (end.kind === 'files') handed = Number(end.row);
        yield step.value;
      }
    } catch (err) {
      if (!csv || !(err instanceof FerryError) || err.code !== 'FERRY_E_BATCH_SOURCE') throw err;
      yield* this.#readCareful(f, file, handed, chunkSize);
      return undefined;
    }
  }

  #readCareful(f: number, file: string, skip: number, chunkSize: number): AsyncGenerator<SourceChunk> {
    return readCsvCarefully(f, file, skip, chunkSize, this.#textColumns, (frame) => {
      for (const name of frame.columns) if (!this.#types.has(name)) this.#types.set(name, inferType(frame.column(name) ?? []));
    });
  }

  /**
   * One query's rows in chunks of `chunkSize`, from the row after place `start` of the file. A
   * typed read that fails, stops at a cell it cannot hold, or ends before `expected` rows keeps
   * nothing past the last chunk it handed out and returns that place, to be read on as text (the
   * same cells, any file); otherwise it returns undefined once every row is handed out.
   */
  async *#query(f: number, file: string, query: FileQuery, typed: boolean, start: number, chunkSize: number, expected: number | undefined, csv: boolean): AsyncGenerator<SourceChunk, number | undefined> {
    const result = typed ? await this.#duck.stream(query.sql).catch(() => undefined) : await this.#run(file, () => this.#duck.stream(query.sql));
    if (!result) return start;
    const names = query.names ?? result.columnNames();
    const types = result.columnTypes();
    if (!query.names) types.forEach((t, i) => { if (!this.#types.has(names[i] ?? '')) this.#types.set(names[i] ?? '', t.toString()); });
    // Where each Frame column's value comes from in the result, and how it is read.
    const sources = names.map((_, c) => {
      const column = query.columns?.[c];
      const index = column ? column.value : c;
      return { index, text: column?.text, kind: duckColumnKind(types[index]?.typeId, column?.strict) };
    });
    const builders = sources.map((s) => new DuckColumnBuilder(s.kind, chunkSize));
    const shard = query.shard;
    // Each row's 1-based place in the file: counted here, or (a shard's rows) read from the query.
    let places = new Float64Array(chunkSize);
    let rows = 0;
    let handed = start;
    let seen = start;
    const flush = (): SourceChunk => {
      const at = places;
      const end = at[rows - 1] ?? seen;
      const chunk: SourceChunk = {
        frame: new ColumnFrame(new Map(names.map((n, i) => [n, (builders[i] as DuckColumnBuilder).take(rows)])), rows),
        unreadable: [], position: (i) => ({ source: file, row: at[i] ?? 0 }), end: { kind: 'files', file: f, row: end },
        ...(shard ? { sharded: true, passed: end - handed - rows } : {}),
      };
      rows = 0;
      places = new Float64Array(chunkSize);
      handed = end;
      return chunk;
    };
    let refused = false;
    fetch: for (;;) {
      const chunk = typed ? await result.fetchChunk().catch(() => undefined) : await this.#run(file, () => result.fetchChunk());
      if (chunk === undefined) {
        refused = true;
        break;
      }
      if (!chunk || chunk.rowCount === 0) break;
      let size = chunk.rowCount;
      let place: Float64Array | undefined;
      if (shard) {
        place = new Float64Array(duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk.chunk, shard.ordinality), size * 8).slice().buffer);
        seen = place[size - 1] ?? seen;
        // The file's last row, read only to see the end: not the shard's.
        if (chunk.getColumnVector(shard.keep).getItem(size - 1) !== true) size--;
      }
      let from = 0;
      while (from < size) {
        const count = Math.min(size - from, chunkSize - rows);
        for (let c = 0; c < sources.length; c++) {
          const s = sources[c] as (typeof sources)[number];
          if (!(builders[c] as DuckColumnBuilder).add(chunk, s.index, from, count, rows, cellReader(chunk, s.index, query.csv), textReader(chunk, s.text))) {
            refused = true;
            break fetch;
          }
        }
        if (place) places.set(place.subarray(from, from + count), rows);
        else for (let i = 0; i < count; i++) places[rows + i] = seen + i + 1;
        if (!place) seen += count;
        from += count;
        rows += count;
        if (rows === chunkSize) yield flush();
      }
    }
    if (typed && (refused || seen < (expected ?? 0))) return handed;
    if (csv) await this.#checkComplete(file, seen);
    if (rows > 0) yield flush();
    return undefined;
  }

  /**
   * A CSV read that ended before the file's last row stopped at an error DuckDB did not raise:
   * raise it. (A file with quotes has no cheap count; its run checked it with `count(*)`, which
   * raises, when it started.)
   */
  async #checkComplete(file: string, rows: number): Promise<void> {
    const known = await this.#csvRows(file);
    if (known === undefined || rows >= known) return;
    const result = await this.#run(file, () => this.#duck.runAndReadAll(`select count(*) from ${reader(file, 'csv')}`));
    const total = Number(result.getRows()[0]?.[0] ?? 0);
    if (rows < total) throw ferry('FERRY_E_BATCH_SOURCE', { source: file, detail: `the read stopped after row ${rows} of ${total}` });
  }

  /** Rows of a CSV file without quotes (counted once), else undefined. */
  async #csvRows(file: string): Promise<number | undefined> {
    if (!this.#rows.has(file)) this.#rows.set(file, await this.#run(file, () => countCsvRows(file)));
    return this.#rows.get(file);
  }

  /** CSV cells are read as text; the output keeps the types DuckDB detects (keys as BIGINT, …). Sniffed once per file. */
  #csvLayout(file: string): Promise<CsvLayout> {
    let layout = this.#layouts.get(file);
    if (!layout) {
      layout = this.#sniff(file);
      this.#layouts.set(file, layout);
    }
    return layout;
  }

  async #sniff(file: string): Promise<CsvLayout> {
    const [described, header] = await Promise.all([this.#duck.runAndReadAll(`describe select * from read_csv(${sqlString(file)}, header=true)`).catch((err: unknown) => err as Error), csvHeader(file)]);
    // DuckDB's sniffer reads a sample as a whole: a bad line in it (a field too many, mixed line
    // endings) fails it or makes it guess another dialect (one column holding each line).
    // Then the file is read record by record, as its comma-separated header line says.
    const commaSeparated = header !== undefined && header.length > 1;
    if (described instanceof Error) {
      if (!header || header.length === 0) throw ferry('FERRY_E_BATCH_SOURCE', { source: file, detail: described.message }, described);
      return { names: header, types: header.map(() => 'VARCHAR'), careful: true };
    }
    const result = described;
    const names: string[] = [];
    const types: string[] = [];
    for (const [name, type] of result.getRows()) {
      names.push(String(name));
      types.push(String(type));
    }
    if (commaSeparated && (names.length !== header.length || names.some((n, i) => n.trim() !== header[i]))) return { names: header, types: header.map(() => 'VARCHAR'), careful: true };
    names.forEach((n, i) => { if (!this.#types.has(n)) this.#types.set(n, types[i] ?? 'VARCHAR'); });
    return { names, types, dialect: await this.#dialect(file) };
  }

  /**
   * The options of DuckDB's CSV sniffer for this file (`auto_detect=false, delim=…, header=true, …`),
   * taken from `sniff_csv`'s ready-made read_csv call, so the typed read does not sniff the file
   * again each time it opens (~0.2 s a query on a quiet machine, 0.8 s loaded). Undefined when the
   * sniffer sees no header (the read then sniffs as it always did).
   */
  async #dialect(file: string): Promise<string | undefined> {
    const sniffed = await this.#duck.runAndReadAll(`select HasHeader, Prompt from sniff_csv(${sqlString(file)})`).catch(() => undefined);
    const [header, prompt] = sniffed?.getRows()[0] ?? [];
    if (header !== true || typeof prompt !== 'string') return undefined;
    const from = prompt.indexOf('auto_detect=false');
    const to = prompt.lastIndexOf(', columns={');
    const options = from >= 0 && to > from ? prompt.slice(from, to) : undefined;
    return options?.includes('header=true') ? options : undefined;
  }

  async *#readLines(f: number, file: string, skip: number, chunkSize: number): AsyncIterable<SourceChunk> {
    const stream = createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let line = 0;
    let records: Record<string, unknown>[] = [];
    let positions: { source: string; row: number }[] = [];
    let unreadable: SourceChunk['unreadable'][number][] = [];
    const flush = (): SourceChunk => {
      const frame = ColumnFrame.fromRows(records);
      for (const [name, cells] of frame.columns.map((n) => [n, frame.column(n)] as const)) if (!this.#types.has(name)) this.#types.set(name, inferType(cells ?? []));
      const rows = positions;
      const chunk: SourceChunk = { frame, unreadable, position: (i) => rows[i] ?? { source: file, row: 0 }, end: { kind: 'files', file: f, row: line } };
      records = [];
      positions = [];
      unreadable = [];
      return chunk;
    };
    try {
      for await (const text of lines) {
        line++;
        if (line <= skip || text.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          value = err instanceof Error ? err : undefined;
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Error) {
          const detail = value instanceof Error ? value.message : 'the line is not an object of column values';
          unreadable.push({ index: records.length, code: 'FERRY_E_INPUT_FORMAT', message: ferry('FERRY_E_INPUT_FORMAT', { source: `"${file}"`, format: 'JSON Lines', detail: `line ${line}: ${detail}` }).message });
          value = {};
        }
        records.push(value as Record<string, unknown>);
        positions.push({ source: file, row: line });
        if (records.length === chunkSize) yield flush();
      }
    } catch (err) {
      throw err instanceof FerryError ? err : ferry('FERRY_E_BATCH_SOURCE', { source: file, detail: err instanceof Error ? err.message : String(err) }, err);
    } finally {
      lines.close();
      stream.destroy();
    }
    if (records.length > 0) yield flush();
  }

  async #run<T>(file: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw ferry('FERRY_E_BATCH_SOURCE', { source: file, detail: err instanceof Error ? err.message : String(err) }, err);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One query over a file: its SQL, and how its result becomes Frame columns. */
interface FileQuery {
  readonly sql: string;
  /** The Frame's column names (undefined: the result's). */
  readonly names?: readonly string[];
  /** Per Frame column, where its value (and stand-in text) is in the result (undefined: column i is result column i). */
  readonly columns?: readonly CsvColumn[];
  /** The values are CSV text, converted as `ferry predict` reads them. */
  readonly csv: boolean;
  /** A shard's query: result indexes of each row's place in the file and of its in-shard flag. */
  readonly shard?: { readonly ordinality: number; readonly keep: number };
}

/** The shard a source keeps, and the key columns hashed. */
export interface ShardFilter {
  readonly index: number;
  readonly count: number;
  readonly key: readonly string[];
}

/** DuckDB's table function reading `file` (the formats' table says which). */
function reader(file: string, format: FileFormatName): string {
  const read = fileFormat(format)?.duckdbRead;
  if (!read) throw ferry('FERRY_E_INTERNAL', { detail: `no DuckDB reader for the ${format} format` });
  return read(sqlString(file));
}

/** A column type for values that came without one (JSON): numbers as DOUBLE, so any later number fits. */
export function inferType(cells: readonly Cell[]): string {
  const sample = cells.find((c) => c !== null);
  if (typeof sample === 'number' || typeof sample === 'bigint') return 'DOUBLE';
  if (typeof sample === 'boolean') return 'BOOLEAN';
  if (Array.isArray(sample)) return 'JSON';
  return 'VARCHAR';
}

/** Non-empty lines of a file, counted while streaming it. */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  let pending = false;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (b === 10) {
        if (pending) lines++;
        pending = false;
      } else if (b !== 13 && b !== 32 && b !== 9) {
        pending = true;
      }
    }
  }
  return pending ? lines + 1 : lines;
}

/** A column's cells, value by value (CSV text through `csvCell`, as `ferry predict` reads it). */
function cellReader(chunk: DuckDBDataChunk, index: number, csv: boolean): (row: number) => Cell {
  let vector: ReturnType<DuckDBDataChunk['getColumnVector']> | undefined;
  if (csv) {
    return (r) => {
      const v = (vector ??= chunk.getColumnVector(index)).getItem(r);
      return typeof v === 'string' ? csvCell(v) : typeof v === 'number' ? v : '';
    };
  }
  return (r) => duckCell((vector ??= chunk.getColumnVector(index)).getItem(r));
}

/** The text standing in for a missing double (read only for such rows). */
function textReader(chunk: DuckDBDataChunk, index: number | undefined): ((row: number) => Cell) | undefined {
  if (index === undefined) return undefined;
  let vector: ReturnType<DuckDBDataChunk['getColumnVector']> | undefined;
  return (r) => {
    const t = (vector ??= chunk.getColumnVector(index)).getItem(r);
    return typeof t === 'string' ? csvCell(t) : '';
  };
}
