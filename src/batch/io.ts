import { extname } from 'node:path';
import { ferry } from '../core/errors.js';
import type { DuckDb } from './duckdb.js';
import { FILE_FORMATS } from '../data/file-formats.js';
import { AppendFileSink, DuckFileSink, isSingleFile, PartsSink } from './file-sinks.js';
import { FileSource } from './file-source.js';
import { expandFiles, fileFormatAt, isPostgres } from './locations.js';
import { PgSink } from './pg-sink.js';
import { PgSource } from './pg-source.js';
import type { BatchSink } from './sink.js';
import type { BatchSource } from './source.js';
import type { RunSpec } from './types.js';

/** The files an input names, fixed when a run is created (undefined for PostgreSQL). */
export async function listInputFiles(duck: DuckDb, input: string, format: string | undefined): Promise<string[] | undefined> {
  if (isPostgres(input)) return undefined;
  return expandFiles(await duck.connect(), input, format);
}

/** The source a run reads. */
export async function openSource(spec: RunSpec, duck: DuckDb): Promise<BatchSource> {
  // Hash 2 is expressed in SQL: the query keeps only the shard's rows. (Hash 1 runs filter in JavaScript.)
  const shard = spec.shard && spec.shardHash === 2 && spec.key.length > 0 ? { ...spec.shard, key: spec.key } : undefined;
  if (isPostgres(spec.input)) return new PgSource({ location: spec.input, query: spec.query, key: spec.key, watermark: spec.watermark, shard });
  if (spec.query !== undefined) throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location: spec.input, detail: 'a query (--query) reads from PostgreSQL: give a postgres://… input.' });
  return new FileSource(await duck.connect(), spec.files ?? [spec.input], spec.inputFormat, spec.input, [...spec.key, ...spec.passthrough, ...(spec.watermark ? [spec.watermark.column] : [])], shard);
}

/**
 * The sink for an output location: a PostgreSQL table; one CSV/JSONL file (appended, truncated
 * to the checkpoint on resume) or Parquet file (staged parts joined at the end); or a folder of
 * part files (`--output-format`, Parquet by default). Each shard writes its own file or parts.
 */
export function openSink(location: string, format: string | undefined, spec: RunSpec, tag: string, duck: DuckDb): BatchSink {
  if (isPostgres(location)) return new PgSink(location, spec.key);
  const connect = () => duck.connect();
  if (isSingleFile(location)) {
    const fmt = fileFormatAt(location, format);
    const path = spec.shard ? shardPath(location, spec.shard) : location;
    if (fmt.duckdbWrite !== undefined) return new DuckFileSink(path, fmt, fmt.duckdbWrite, tag, connect);
    if (!fmt.appendable) {
      const appendable = FILE_FORMATS.filter((f) => f.appendable).map((f) => `"${location.slice(0, -extname(location).length)}${f.extensions[0] ?? ''}"`);
      throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location, detail: `batch appends its chunks to one file, and a ${fmt.label} file cannot be appended to: name the output ${appendable.join(' or ')}, or give a folder (parts).` });
    }
    return new AppendFileSink(path, fmt);
  }
  return new PartsSink(location, tag, fileFormatAt(`x.${format ?? 'parquet'}`), connect);
}

/** `scores.parquet` → `scores.shard-1-of-3.parquet`. */
function shardPath(path: string, shard: { index: number; count: number }): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}.shard-${shard.index}-of-${shard.count}${ext}`;
}
