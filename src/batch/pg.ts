import type pg from 'pg';
import { ferry } from '../core/errors.js';
import { redact } from './locations.js';

/** Numbers come back as numbers (int8 and numeric too), times as ISO text: cells a Frame holds. */
function typesOf(driver: typeof pg): pg.CustomTypesConfig {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === 20 || oid === 21 || oid === 23 || oid === 700 || oid === 701 || oid === 1700) return (v: string) => Number(v);
      if (oid === 1114 || oid === 1184 || oid === 1082) return (v: string) => v;
      return driver.types.getTypeParser(oid, format) as (v: string) => unknown;
    },
  };
}

/**
 * A pg client for batch data (not the registry), with catalog errors. The driver is loaded here,
 * on first use: a run between files never pays for it.
 */
export async function connectPg(url: string, what: 'source' | 'sink'): Promise<pg.Client> {
  const driver = (await import('pg')).default;
  const client = new driver.Client({ connectionString: url, types: typesOf(driver), connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw pgError(what, url, err);
  }
  return client;
}

export function pgError(what: 'source' | 'sink', location: string, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  return what === 'source' ? ferry('FERRY_E_BATCH_SOURCE', { source: redact(location), detail }, err) : ferry('FERRY_E_BATCH_SINK', { sink: redact(location), detail }, err);
}

/** A quoted PostgreSQL identifier. */
export function pgIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** DuckDB-style type names of PostgreSQL result columns. */
export function pgTypeName(oid: number): string {
  switch (oid) {
    case 20: case 21: case 23: return 'BIGINT';
    case 700: case 701: case 1700: return 'DOUBLE';
    case 16: return 'BOOLEAN';
    case 1114: return 'TIMESTAMP';
    case 1184: return 'TIMESTAMPTZ';
    case 1082: return 'DATE';
    case 114: case 3802: return 'JSON';
    case 1021: case 1022: return 'DOUBLE[]';
    case 1016: case 1007: case 1005: return 'BIGINT[]';
    default: return 'VARCHAR';
  }
}
