import { ferry } from '../core/errors.js';

/**
 * The request-time transform language: arithmetic, comparisons, logic, a conditional and a
 * fixed table of functions over named values. Parsed by a small Pratt parser into an AST and
 * evaluated by walking it — never `eval` or `new Function`, so a declaration cannot run code.
 *
 * @example
 *   const e = parseExpression('balance / max(n_orders, 1)');
 *   e.names;                                  // ['balance', 'n_orders']
 *   evaluate(e, (n) => ({ balance: 10, n_orders: 0 })[n]); // 10
 */
export type Value = number | string | boolean | null;

type Node =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'lit'; readonly value: boolean | null }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'unary'; readonly op: '-' | '!' | '+'; readonly arg: Node }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Node; readonly right: Node }
  | { readonly kind: 'cond'; readonly test: Node; readonly then: Node; readonly else: Node }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Node[] };

export interface Expression {
  readonly text: string;
  /** The names it reads (features and request columns), in first-use order. */
  readonly names: readonly string[];
  readonly root: Node;
}

type Token = { readonly t: 'num'; readonly v: number; readonly at: number } | { readonly t: 'str'; readonly v: string; readonly at: number } | { readonly t: 'name'; readonly v: string; readonly at: number } | { readonly t: 'op'; readonly v: string; readonly at: number } | { readonly t: 'end'; readonly at: number };

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '<', '>', '!', '(', ')', ',', '?', ':'];
const MAX_LENGTH = 2000;
const MAX_DEPTH = 64;

const num = (v: Value): number | null => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : null);

/** The functions an expression may call: name → arity (min, max) and implementation. Null in, null out, except where noted. */
const FUNCTIONS: Readonly<Record<string, { readonly min: number; readonly max: number; readonly fn: (args: readonly Value[]) => Value }>> = {
  max: { min: 1, max: 16, fn: (a) => numbers(a, (xs) => Math.max(...xs)) },
  min: { min: 1, max: 16, fn: (a) => numbers(a, (xs) => Math.min(...xs)) },
  abs: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.abs(x ?? 0)) },
  sqrt: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.sqrt(x ?? 0)) },
  log: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.log(x ?? 0)) },
  log1p: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.log1p(x ?? 0)) },
  exp: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.exp(x ?? 0)) },
  floor: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.floor(x ?? 0)) },
  ceil: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.ceil(x ?? 0)) },
  round: { min: 1, max: 1, fn: (a) => numbers(a, ([x]) => Math.round(x ?? 0)) },
  pow: { min: 2, max: 2, fn: (a) => numbers(a, ([x, y]) => (x ?? 0) ** (y ?? 0)) },
  /** The first argument that is not null. */
  coalesce: { min: 1, max: 16, fn: (a) => a.find((v) => v !== null) ?? null },
  /** True when the value is missing (never null itself). */
  is_null: { min: 1, max: 1, fn: (a) => a[0] === null },
};

function numbers(args: readonly Value[], fn: (xs: number[]) => number): Value {
  const xs: number[] = [];
  for (const a of args) {
    const n = num(a);
    if (n === null) return null;
    xs.push(n);
  }
  return fn(xs);
}

function invalid(text: string, detail: string): never {
  throw ferry('FERRY_E_FEATURES_INVALID', { detail: `transform "${text}": ${detail}` });
}

function tokenize(text: string): Token[] {
  if (text.length > MAX_LENGTH) invalid(text.slice(0, 40) + '…', `longer than ${MAX_LENGTH} characters`);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) { i++; continue; }
    const at = i;
    if (/[0-9.]/.test(c) && /[0-9]/.test(c === '.' ? text[i + 1] ?? '' : c)) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
      const lexeme = m?.[0] ?? c;
      tokens.push({ t: 'num', v: Number(lexeme), at });
      i += lexeme.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      // Names may carry a view prefix: `customer_stats.age`.
      const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?/.exec(text.slice(i));
      const lexeme = m?.[0] ?? c;
      tokens.push({ t: 'name', v: lexeme, at });
      i += lexeme.length;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) invalid(text, `unterminated string at ${at + 1}`);
      tokens.push({ t: 'str', v: text.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) invalid(text, `unexpected "${c}" at ${at + 1}`);
    tokens.push({ t: 'op', v: op, at });
    i += op.length;
  }
  tokens.push({ t: 'end', at: text.length });
  return tokens;
}

/** Binding power of infix operators (higher binds tighter). */
const INFIX: Readonly<Record<string, number>> = { '?': 1, '||': 2, '&&': 3, '==': 4, '!=': 4, '<': 5, '<=': 5, '>': 5, '>=': 5, '+': 6, '-': 6, '*': 7, '/': 7, '%': 7 };
const PREFIX_POWER = 8;

/** Parse a transform; a syntax error names the position and what was expected. */
export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let pos = 0;
  const names: string[] = [];
  const peek = (): Token => tokens[pos] as Token;
  const next = (): Token => tokens[pos++] as Token;
  const expect = (op: string): void => {
    const t = next();
    if (t.t !== 'op' || t.v !== op) invalid(text, `expected "${op}" at ${t.at + 1}`);
  };
  const expr = (power: number, depth: number): Node => {
    if (depth > MAX_DEPTH) invalid(text, `nested deeper than ${MAX_DEPTH}`);
    let left = prefix(depth);
    for (;;) {
      const t = peek();
      if (t.t !== 'op') break;
      const p = INFIX[t.v];
      if (p === undefined || p <= power) break;
      next();
      if (t.v === '?') {
        const then = expr(0, depth + 1);
        expect(':');
        // Right-associative: `a ? b : c ? d : e`.
        left = { kind: 'cond', test: left, then, else: expr(p - 1, depth + 1) };
      } else {
        left = { kind: 'binary', op: t.v, left, right: expr(p, depth + 1) };
      }
    }
    return left;
  };
  const prefix = (depth: number): Node => {
    const t = next();
    if (t.t === 'num') return { kind: 'num', value: t.v };
    if (t.t === 'str') return { kind: 'str', value: t.v };
    if (t.t === 'name') {
      if (t.v === 'true' || t.v === 'false') return { kind: 'lit', value: t.v === 'true' };
      if (t.v === 'null') return { kind: 'lit', value: null };
      if (peek().t === 'op' && (peek() as { v: string }).v === '(') {
        next();
        const fn = FUNCTIONS[t.v];
        if (!fn || !Object.hasOwn(FUNCTIONS, t.v)) invalid(text, `unknown function "${t.v}" (known: ${Object.keys(FUNCTIONS).join(', ')})`);
        const args: Node[] = [];
        if (!(peek().t === 'op' && (peek() as { v: string }).v === ')')) {
          for (;;) {
            args.push(expr(0, depth + 1));
            const sep = peek();
            if (sep.t === 'op' && sep.v === ',') { next(); continue; }
            break;
          }
        }
        expect(')');
        if (args.length < fn.min || args.length > fn.max) invalid(text, `${t.v}() takes ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} argument(s), got ${args.length}`);
        return { kind: 'call', fn: t.v, args };
      }
      if (!names.includes(t.v)) names.push(t.v);
      return { kind: 'name', name: t.v };
    }
    if (t.t === 'op' && (t.v === '-' || t.v === '!' || t.v === '+')) return { kind: 'unary', op: t.v, arg: expr(PREFIX_POWER, depth + 1) };
    if (t.t === 'op' && t.v === '(') {
      const inner = expr(0, depth + 1);
      expect(')');
      return inner;
    }
    return invalid(text, t.t === 'end' ? 'unexpected end' : `unexpected "${t.v}" at ${t.at + 1}`);
  };
  const root = expr(0, 0);
  const rest = peek();
  if (rest.t !== 'end') invalid(text, `unexpected "${String(rest.v)}" at ${rest.at + 1}`);
  return { text, names, root };
}

/** Evaluate with `get` giving each name's value (undefined = missing = null). Arithmetic on null gives null. */
export function evaluate(expression: Expression, get: (name: string) => Value | undefined): Value {
  return walk(expression.root, get);
}

function walk(node: Node, get: (name: string) => Value | undefined): Value {
  switch (node.kind) {
    case 'num':
    case 'str':
    case 'lit':
      return node.value;
    case 'name':
      return get(node.name) ?? null;
    case 'unary': {
      const v = walk(node.arg, get);
      if (node.op === '!') return v === null ? null : !truthy(v);
      const n = num(v);
      return n === null ? null : node.op === '-' ? -n : n;
    }
    case 'cond': {
      const test = walk(node.test, get);
      return test !== null && truthy(test) ? walk(node.then, get) : walk(node.else, get);
    }
    case 'call':
      return (FUNCTIONS[node.fn] as { fn: (a: readonly Value[]) => Value }).fn(node.args.map((a) => walk(a, get)));
    case 'binary':
      return binary(node.op, node.left, node.right, get);
  }
}

function truthy(v: Value): boolean {
  return typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : Boolean(v);
}

function binary(op: string, l: Node, r: Node, get: (name: string) => Value | undefined): Value {
  if (op === '&&' || op === '||') {
    const a = walk(l, get);
    if (a === null) return null;
    if (op === '&&' ? !truthy(a) : truthy(a)) return op === '||';
    const b = walk(r, get);
    return b === null ? null : truthy(b);
  }
  const a = walk(l, get);
  const b = walk(r, get);
  if (a === null || b === null) return null;
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (typeof a === 'string' && typeof b === 'string') {
    if (op === '+') return a + b;
    if (op === '<') return a < b;
    if (op === '<=') return a <= b;
    if (op === '>') return a > b;
    if (op === '>=') return a >= b;
    return null;
  }
  const x = num(a);
  const y = num(b);
  if (x === null || y === null) return null;
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return x / y;
    case '%': return x % y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
    default: return null;
  }
}

/** SQL of each function (DuckDB): null in, null out, as `evaluate` does. */
const SQL_FUNCTIONS: Readonly<Record<string, (args: readonly string[]) => string>> = {
  max: (a) => nullIfAny(a, `greatest(${a.join(', ')})`),
  min: (a) => nullIfAny(a, `least(${a.join(', ')})`),
  abs: (a) => `abs(${a.join(', ')})`,
  sqrt: (a) => `sqrt(${a.join(', ')})`,
  log: (a) => `ln(${a.join(', ')})`,
  log1p: (a) => `ln(1 + ${a.join(', ')})`,
  exp: (a) => `exp(${a.join(', ')})`,
  floor: (a) => `floor(${a.join(', ')})`,
  ceil: (a) => `ceil(${a.join(', ')})`,
  round: (a) => `floor(${a.join(', ')} + 0.5)`,
  pow: (a) => `pow(${a.join(', ')})`,
  coalesce: (a) => `coalesce(${a.join(', ')})`,
  is_null: (a) => `(${a.join(', ')} is null)`,
};

function nullIfAny(args: readonly string[], sql: string): string {
  return `case when ${args.map((a) => `${a} is null`).join(' or ')} then null else ${sql} end`;
}

/**
 * The expression as DuckDB SQL over columns (`column(name)` gives each name's SQL), for
 * training sets: the same arithmetic done in the database instead of row by row in JavaScript.
 * Division by zero is NULL in both (the lookup turns a non-finite result into null).
 */
export function expressionSql(expression: Expression, column: (name: string) => string): string {
  const sql = (node: Node): string => {
    switch (node.kind) {
      case 'num': return `(${String(node.value)})::double`;
      case 'str': return `'${node.value.replaceAll("'", "''")}'`;
      case 'lit': return node.value === null ? 'null' : String(node.value);
      case 'name': return column(node.name);
      case 'unary': return node.op === '!' ? `(not ${sql(node.arg)})` : `(${node.op}${sql(node.arg)})`;
      case 'cond': return `(case when ${sql(node.test)} then ${sql(node.then)} else ${sql(node.else)} end)`;
      case 'call': return (SQL_FUNCTIONS[node.fn] as (a: readonly string[]) => string)(node.args.map(sql));
      case 'binary': {
        const op = node.op === '&&' ? 'and' : node.op === '||' ? 'or' : node.op === '==' ? '=' : node.op === '!=' ? '<>' : node.op;
        if (node.op === '/') return `(case when ${sql(node.right)} = 0 then null else ${sql(node.left)}::double / ${sql(node.right)} end)`;
        return `(${sql(node.left)} ${op} ${sql(node.right)})`;
      }
    }
  };
  return sql(expression.root);
}
