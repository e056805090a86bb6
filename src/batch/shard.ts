import { createHash } from 'node:crypto';
import { ferry } from '../core/errors.js';
import type { Cell } from '../core/frame.js';

/** Parse `--shard i/n` (0 ≤ i < n). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw ferry('FERRY_E_PARAMETER_INVALID', { name: '--shard', detail: `write i/n with 0 ≤ i < n (e.g. 0/3), got "${text}"` });
  return { index, count };
}

/**
 * The shard hash a run uses (stored in its spec as `shardHash`):
 * - 1 (runs created before it was stored): FNV-1a (32 bit) of the key cells as JSON, in JavaScript
 *   only — every shard reads the whole input and drops the other shards' rows.
 * - 2: the first 28 bits of MD5 of the key's canonical text (`shardKeyText`), modulo n. MD5 is
 *   built into DuckDB and PostgreSQL, so the filter runs in the query and a shard reads only its
 *   rows (`duckShardSql`, `pgShardSql`; test/batch-shard.test.ts checks all three agree).
 */
export type ShardHash = 1 | 2;
export const SHARD_HASH: ShardHash = 2;

/** Separates the cells of a composite key in its canonical text. */
const SEP = '\u001f';

/**
 * A key's canonical text: each cell as text (null → empty, numbers as their shortest decimal,
 * integers without ".0"), joined by U+001F. CSV keys are hashed as the file spells them, so a
 * number written "7.50" hashes as "7.50" there and as "7.5" from JSON.
 */
export function shardKeyText(key: readonly Cell[]): string {
  return key.map(cellText).join(SEP);
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '';
  if (typeof c === 'string') return c;
  if (typeof c === 'number' || typeof c === 'bigint' || typeof c === 'boolean') return String(c);
  return JSON.stringify(c);
}

/** The shard of a row under hash `version` (1 when a stored run has none). */
export function shardOf(key: readonly Cell[], count: number, version: ShardHash = 1): number {
  if (version === 2) return md5Bucket(shardKeyText(key)) % count;
  const text = JSON.stringify(key.map((c) => (typeof c === 'bigint' ? Number(c) : c)));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}

function md5Bucket(text: string): number {
  return parseInt(createHash('md5').update(text, 'utf8').digest('hex').slice(0, 7), 16);
}

/** DuckDB: one key cell's canonical text from a column of `type` (as DuckDB names it). */
function duckCellText(column: string, type: string): string {
  if (type === 'VARCHAR') return `coalesce(${column}, '')`;
  if (type === 'DOUBLE' || type === 'FLOAT') {
    // Integral doubles print as integers (JavaScript's String(7) is "7", DuckDB's 7.0::varchar "7.0").
    return `coalesce(case when isfinite(${column}) and ${column} = trunc(${column}) and abs(${column}) < ${INTEGRAL} then ${column}::bigint::varchar else ${column}::varchar end, '')`;
  }
  return `coalesce(${column}::varchar, '')`;
}

/** DuckDB: the expression true for the rows of `shard` (hash 2); `columns` are quoted identifiers with their types. */
export function duckShardSql(columns: readonly { readonly sql: string; readonly type: string }[], shard: { index: number; count: number }): string {
  const text = columns.map((c) => duckCellText(c.sql, c.type)).join(` || chr(31) || `);
  return `(('0x' || substr(md5(${text}), 1, 7))::integer % ${shard.count}) = ${shard.index}`;
}

/**
 * Integral doubles below this print as integers in every path (JavaScript prints them in full up
 * to 1e21; the SQL paths go through BIGINT, so larger ones keep the database's exponent form).
 */
const INTEGRAL = '9.2e18';

/** PostgreSQL: the expression true for the rows of `shard` (hash 2); `columns` are quoted identifiers, `float` for float4/float8 columns. */
export function pgShardSql(columns: readonly { readonly sql: string; readonly float: boolean }[], shard: { index: number; count: number }): string {
  const text = columns.map(({ sql: c, float }) => (float
    ? `coalesce(case when ${c} = trunc(${c}) and abs(${c}) < ${INTEGRAL} then ${c}::int8::text else ${c}::text end, '')`
    : `coalesce(${c}::text, '')`)).join(` || chr(31) || `);
  return `((('x' || substr(md5(${text}), 1, 7))::bit(28)::int) % ${shard.count}) = ${shard.index}`;
}
