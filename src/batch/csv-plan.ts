import { createReadStream } from 'node:fs';
import { sqlIdent, sqlString } from './duckdb.js';

/** A CSV file's header and the column types DuckDB's sniffer sees in it. */
export interface CsvLayout {
  readonly names: readonly string[];
  readonly types: readonly string[];
  /** The sniffer's read_csv options for this file (`auto_detect=false, delim=',', …`), when known: the typed read then does not sniff again. */
  readonly dialect?: string | undefined;
  /** DuckDB cannot read the file as a whole (its sniffer failed, or saw other columns than the header line): read it record by record (csv-careful.ts). */
  readonly careful?: boolean;
}

/** How one CSV column is selected and turned into cells. */
export interface CsvColumn {
  readonly name: string;
  /** Index of the value in the result (a DOUBLE, or the text of a text column). */
  readonly value: number;
  /** Index of the text standing in where the value is missing (undefined: none). */
  readonly text: number | undefined;
  /** The value must be a finite DOUBLE in every row; a row where it is not abandons the typed read. */
  readonly strict: boolean;
}

export interface CsvPlan {
  /** The query, reading from row `skip` on. */
  readonly sql: string;
  readonly columns: readonly CsvColumn[];
  /** With a shard filter: result indexes of the row's 1-based place in the file (a DOUBLE) and of its in-shard flag. */
  readonly ordinality?: number;
  readonly keep?: number;
}

/** A shard filter pushed into the read: rows of the shard, plus the file's last row (`last`, to see the read reach the end). */
export interface CsvShardFilter {
  readonly keep: string;
  readonly last: number | undefined;
}

const NUMERIC = new Set(['DOUBLE', 'FLOAT', 'BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'HUGEINT', 'UBIGINT', 'UINTEGER', 'USMALLINT', 'UTINYINT']);
/** Integers up to 2^53 - 1 print back as they were read, as JavaScript numbers. */
const SAFE = '9007199254740991';

/**
 * The query reading a CSV file into Frame columns, with the cells `ferry predict` would see.
 *
 * Both plans read features as DuckDB parses them (`try_cast(… as double)`: the same double the
 * text gives) and keep the text where that is not a finite number, for validation to accept
 * ("inf") or reject as `ferry predict` does; carried columns (keys, passthrough, watermark) are
 * text converted by `csvCell` ("007" stays text).
 *
 * - `typed: false` reads every cell as text and casts in SQL: any file, any cell.
 * - `typed: true` lets the CSV reader parse the feature columns its sniffer found numeric
 *   straight to DOUBLE (a third less CPU than text and casts) and turns carried integers into
 *   doubles in SQL (no text per key). A cell such a column cannot hold — text, empty, not finite —
 *   ends the read early or shows as a row the builder refuses; the caller then reads the file
 *   on from the start of the chunk with `typed: false`, so both plans give the same cells.
 */
export function csvPlan(file: string, layout: CsvLayout, carried: ReadonlySet<string>, typed: boolean, skip: number, shard?: CsvShardFilter): CsvPlan {
  const select: string[] = [];
  const columns: CsvColumn[] = [];
  const types: string[] = [];
  layout.names.forEach((name, i) => {
    const id = sqlIdent(name);
    const numeric = typed && !carried.has(name) && NUMERIC.has(layout.types[i] ?? '');
    types.push(`${sqlString(name)}: '${numeric ? 'DOUBLE' : 'VARCHAR'}'`);
    const at = select.length;
    if (numeric) {
      select.push(id);
      columns.push({ name, value: at, text: undefined, strict: true });
    } else if (carried.has(name) && typed) {
      const int = `try_cast(${id} as bigint)`;
      const exact = `${int} between -${SAFE} and ${SAFE} and ${int}::varchar = ${id}`;
      select.push(`case when ${exact} then ${int}::double end`, `case when ${exact} then null else ${id} end`);
      columns.push({ name, value: at, text: at + 1, strict: false });
    } else if (carried.has(name)) {
      select.push(id);
      columns.push({ name, value: at, text: undefined, strict: false });
    } else {
      const num = `try_cast(${id} as double)`;
      select.push(`case when isfinite(${num}) then ${num} end`, `case when ${num} is null or not isfinite(${num}) then ${id} end`);
      columns.push({ name, value: at, text: at + 1, strict: false });
    }
  });
  const from = !typed ? `read_csv(${sqlString(file)}, header=true, all_varchar=true)`
    : layout.dialect ? `read_csv(${sqlString(file)}, ${layout.dialect}, columns={${types.join(', ')}})`
      : `read_csv(${sqlString(file)}, header=true, types={${types.join(', ')}})`;
  if (shard) {
    const place = placeColumn(layout.names);
    const sentinel = shard.last !== undefined ? ` or ${place} = ${shard.last}` : '';
    const sql = `select ${select.join(', ')}, ${place}::double, ${shard.keep} from ${withPlace(from, layout.names)} where ${place} > ${skip} and (${shard.keep}${sentinel})`;
    return { sql, columns, ordinality: select.length, keep: select.length + 1 };
  }
  return { sql: `select ${select.join(', ')} from ${from}${skip > 0 ? ` offset ${skip}` : ''}`, columns };
}

/**
 * The name of the row's place in the file, unlike every column's (a file may have a column named
 * "ordinality", which would otherwise silently stand in for the place).
 */
export function placeColumn(names: readonly string[]): string {
  let name = 'ferry_row';
  while (names.includes(name)) name = `_${name}`;
  return sqlIdent(name);
}

/** `from` (a table function) with each row's 1-based place in the file as `placeColumn(names)`. */
export function withPlace(from: string, names: readonly string[]): string {
  return `${from} with ordinality as ferry_t(${[...names.map(sqlIdent), placeColumn(names)].join(', ')})`;
}

/** Whether the typed plan would read any column faster than the text plan. */
export function typedHelps(layout: CsvLayout, carried: ReadonlySet<string>): boolean {
  return layout.names.some((name, i) => !carried.has(name) && NUMERIC.has(layout.types[i] ?? ''));
}

/**
 * Data rows of a CSV file with no quote character, counted from its line breaks (blank lines
 * are not rows); undefined when the file has quotes (a quoted field may hold a line break).
 * Memory-speed (`indexOf`), where DuckDB's `count(*)` parses the whole file.
 */
export async function countCsvRows(file: string): Promise<number | undefined> {
  let lines = 0;
  let pending = false;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    if (buf.indexOf(34) !== -1) return undefined;
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      const end = nl === -1 ? buf.length : nl;
      if (!pending && end > pos && !(end - pos === 1 && buf[pos] === 13)) pending = true;
      if (nl === -1) break;
      if (pending) lines++;
      pending = false;
      pos = nl + 1;
    }
  }
  if (pending) lines++;
  return Math.max(0, lines - 1);
}
