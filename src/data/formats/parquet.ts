import { ferry } from '../../core/errors.js';
import { ColumnFrame, type Frame } from '../../core/frame.js';

/**
 * Parquet: a whole file read through DuckDB (loaded when a Parquet file is read, so commands that
 * never read one do not pay for it) into a Frame. Values become JSON-like cells: 64-bit integers
 * numbers (text past 2^53), dates ISO text, lists arrays.
 */
export async function readParquetFile(path: string, source: string): Promise<Frame> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const result = await connection.runAndReadAll(`select * from read_parquet('${path.replaceAll("'", "''")}')`).catch((err: unknown) => {
      throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'Parquet', detail: err instanceof Error ? err.message : String(err) }, err);
    });
    return ColumnFrame.fromRows(result.getRowObjectsJS().map((row) => {
      const out: Record<string, unknown> = {};
      for (const name in row) out[name] = plain(row[name]);
      return out;
    }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  return v;
}
