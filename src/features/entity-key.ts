import type { Cell } from '../core/frame.js';
import { sqlIdent } from '../batch/duckdb.js';

/**
 * How an entity's key values are compared. `integer`: a key is an integer in any form (`42`,
 * `42.0`, `"42"`, `"+042"` are one key; anything else matches nothing). `string`: text is taken
 * as written, numbers in their shortest form (`42.0` → `"42"`). `auto` (undeclared): integers in
 * any form are one key, other text as written.
 */
export type EntityKeyType = 'integer' | 'string' | 'auto';

const INTEGRAL = /^[+-]?\d+(\.0*)?$/;

function integerText(text: string): string | undefined {
  const t = text.trim();
  if (!INTEGRAL.test(t)) return undefined;
  return BigInt(t.replace(/\.0*$/, '')).toString();
}

/**
 * The canonical text of one key value: what the online store is keyed by and what training sets
 * join on, so `42`, `42.0` and `"42"` find the same entity (undefined = no key / matches nothing).
 * `entityKeySql` is the same rule in DuckDB SQL; the tests keep the two in step.
 */
export function entityKeyText(cell: Cell | undefined, type: EntityKeyType): string | undefined {
  if (cell === null || cell === undefined) return undefined;
  if (typeof cell === 'bigint') return cell.toString();
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return undefined;
    if (Number.isSafeInteger(cell)) return String(cell);
    if (Number.isInteger(cell)) return BigInt(cell).toString();
    return type === 'integer' ? undefined : String(cell);
  }
  if (typeof cell === 'boolean') return type === 'integer' ? undefined : String(cell);
  if (typeof cell !== 'string') return undefined;
  if (type === 'string') return cell;
  return integerText(cell) ?? (type === 'integer' ? undefined : cell);
}

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT']);

/**
 * `entityKeyText` in DuckDB SQL for a column of the given DuckDB type (from `describe`): a
 * VARCHAR expression, null where the key matches nothing.
 */
export function entityKeySql(column: string, duckType: string, type: EntityKeyType): string {
  const c = sqlIdent(column);
  const t = duckType.toUpperCase();
  if (INTEGER_TYPES.has(t)) return `cast(${c} as varchar)`;
  if (t === 'FLOAT' || t === 'DOUBLE' || t.startsWith('DECIMAL')) {
    const other = type === 'integer' ? 'null' : `cast(cast(${c} as double) as varchar)`;
    return `(case when ${c} = trunc(${c}) and abs(${c}) < 1e38 then cast(cast(${c} as hugeint) as varchar) else ${other} end)`;
  }
  if (t === 'VARCHAR') {
    if (type === 'string') return c;
    const integral = `cast(try_cast(regexp_replace(trim(${c}), '\\.0*$', '') as hugeint) as varchar)`;
    const other = type === 'integer' ? 'null' : c;
    return `(case when regexp_full_match(trim(${c}), '[+-]?[0-9]+(\\.0*)?') then ${integral} else ${other} end)`;
  }
  if (t === 'BOOLEAN') return type === 'integer' ? 'null' : `cast(${c} as varchar)`;
  return type === 'integer' ? `cast(try_cast(${c} as hugeint) as varchar)` : `cast(${c} as varchar)`;
}
