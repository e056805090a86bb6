/**
 * A small SQL expression tree and its rendering per dialect: scoring queries are built as
 * values (columns, typed literals, arithmetic, CASE) and rendered once, so quoting, literal
 * precision and type names live in one place instead of in string fragments.
 */

/** The SQL dialects `--target sql` writes. */
export type Dialect = 'postgresql' | 'duckdb';
export const DIALECTS: readonly Dialect[] = ['postgresql', 'duckdb'];

/** SQL number types: REAL is IEEE float32 in both dialects, DOUBLE float64. */
export type NumType = 'real' | 'double' | 'int';

export type Expr =
  | { readonly k: 'col'; readonly name: string }
  | { readonly k: 'num'; readonly value: number; readonly type: NumType }
  | { readonly k: 'str'; readonly value: string }
  | { readonly k: 'null' }
  | { readonly k: 'op'; readonly op: '+' | '-' | '*' | '/' | '=' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR'; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'sum'; readonly terms: readonly Expr[] }
  | { readonly k: 'neg'; readonly a: Expr }
  | { readonly k: 'case'; readonly whens: readonly (readonly [Expr, Expr])[]; readonly otherwise: Expr }
  | { readonly k: 'isnull'; readonly a: Expr }
  | { readonly k: 'cast'; readonly a: Expr; readonly type: NumType }
  | { readonly k: 'call'; readonly fn: 'EXP' | 'GREATEST' | 'SIGN' | 'COALESCE'; readonly args: readonly Expr[] };

export const col = (name: string): Expr => ({ k: 'col', name });
export const num = (value: number, type: NumType): Expr => ({ k: 'num', value, type });
/** A text literal ('…', quotes doubled). */
export const str = (value: string): Expr => ({ k: 'str', value });
export const NULL: Expr = { k: 'null' };
export const op = (o: Extract<Expr, { k: 'op' }>['op'], a: Expr, b: Expr): Expr => ({ k: 'op', op: o, a, b });
/** a + b + c … evaluated left to right (the order float sums must keep). */
export const sum = (terms: readonly Expr[]): Expr => ({ k: 'sum', terms });
export const neg = (a: Expr): Expr => ({ k: 'neg', a });
export const when = (whens: readonly (readonly [Expr, Expr])[], otherwise: Expr): Expr => ({ k: 'case', whens, otherwise });
export const isNull = (a: Expr): Expr => ({ k: 'isnull', a });
export const cast = (a: Expr, type: NumType): Expr => ({ k: 'cast', a, type });
export const call = (fn: Extract<Expr, { k: 'call' }>['fn'], ...args: Expr[]): Expr => ({ k: 'call', fn, args });

const TYPE_NAMES: Readonly<Record<Dialect, Record<NumType, string>>> = {
  postgresql: { real: 'REAL', double: 'DOUBLE PRECISION', int: 'INTEGER' },
  duckdb: { real: 'REAL', double: 'DOUBLE', int: 'INTEGER' },
};

export function typeName(dialect: Dialect, type: NumType): string {
  return TYPE_NAMES[dialect][type];
}

/** A quoted identifier: `"name"`, quotes doubled. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` → `"schema"."table"`. */
export function tableName(name: string): string {
  return name.split('.').map(ident).join('.');
}

/**
 * The shortest decimal that reads back as exactly `v` in its type: for float32 the shortest
 * that rounds to the same float32 (both databases read a REAL literal correctly rounded).
 */
export function literal(v: number, type: NumType): string {
  if (!Number.isFinite(v)) throw new RangeError(`non-finite constant ${v} in a scoring query`);
  if (type === 'int') return String(Math.trunc(v));
  if (type === 'real') {
    for (let p = 1; p <= 9; p++) {
      const s = Number(v.toPrecision(p));
      if (Math.fround(s) === v) return String(s);
    }
  }
  return String(v);
}

export function render(e: Expr, d: Dialect): string {
  switch (e.k) {
    case 'col': return ident(e.name);
    case 'num': return e.type === 'int' ? literal(e.value, 'int') : `CAST(${literal(e.value, e.type)} AS ${typeName(d, e.type)})`;
    case 'str': return `'${e.value.replace(/'/g, "''")}'`;
    case 'null': return 'NULL';
    case 'op': return `(${render(e.a, d)} ${e.op} ${render(e.b, d)})`;
    case 'sum': return e.terms.length === 0 ? '0' : `(${e.terms.map((t) => render(t, d)).join(' + ')})`;
    case 'neg': return `(-${render(e.a, d)})`;
    case 'case': return `CASE ${e.whens.map(([c, v]) => `WHEN ${render(c, d)} THEN ${render(v, d)}`).join(' ')} ELSE ${render(e.otherwise, d)} END`;
    case 'isnull': return `(${render(e.a, d)} IS NULL)`;
    case 'cast': return `CAST(${render(e.a, d)} AS ${typeName(d, e.type)})`;
    case 'call': return `${e.fn}(${e.args.map((a) => render(a, d)).join(', ')})`;
  }
}

/** One SELECT over the previous step: carried columns, then named expressions. */
export interface Step {
  readonly name: string;
  readonly columns: readonly (readonly [string, Expr])[];
}

/**
 * `WITH step1 AS (SELECT keys, … FROM table), step2 AS (SELECT keys, … FROM step1) SELECT
 * keys, … FROM stepN`: one statement, each step reading the one before.
 */
export function renderQuery(d: Dialect, table: string, keys: readonly string[], steps: readonly Step[], final: readonly (readonly [string, Expr])[]): string {
  const select = (cols: readonly (readonly [string, Expr])[], from: string): string => {
    const items = [...keys.map(ident), ...cols.map(([name, e]) => `${render(e, d)} AS ${ident(name)}`)];
    return `SELECT\n  ${items.join(',\n  ')}\nFROM ${from}`;
  };
  let from = tableName(table);
  const ctes: string[] = [];
  for (const step of steps) {
    // PostgreSQL inlines a CTE into each place that reads its columns: a step reading a tree's
    // result several times would copy the whole CASE each time, and planning a forest's copies of
    // copies takes gigabytes. Materialized, each step is computed once, as written.
    ctes.push(`${ident(step.name)} AS ${d === 'postgresql' ? 'MATERIALIZED ' : ''}(\n${select(step.columns, from)}\n)`);
    from = ident(step.name);
  }
  return `${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}${select(final, from)}\n`;
}
