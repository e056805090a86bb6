/**
 * PMML's built-in function library (Apply function="…"). Each function takes evaluated
 * arguments; unless it is marked `handlesMissing`, a missing argument makes the result missing
 * without calling it. `if` is special (lazy) and lives in expressions.ts.
 */
import { erfc, normalCdf } from './normal.js';
import type { Value } from './types.js';
import { compareValues, formatValue, parseNumber, valuesEqual } from './values.js';

export interface BuiltinFunction {
  readonly call: (args: readonly Value[]) => Value;
  /** Called even when an argument is missing (isMissing, and, or, coalesce…). */
  readonly handlesMissing?: boolean;
  /** Allowed argument counts [min, max]. */
  readonly arity: readonly [number, number];
}

const num = (v: Value): number => (typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : parseNumber(String(v)));
const str = (v: Value): string => formatValue(v);
const bool = (v: Value): boolean => (typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : v === 'true' || v === '1');
/** A numeric result; NaN (e.g. ln of a negative) is missing. */
const out = (n: number): Value => (Number.isNaN(n) ? null : n);

const MANY = Number.POSITIVE_INFINITY;
const f1 = (f: (x: number) => number): BuiltinFunction => ({ arity: [1, 1], call: (a) => out(f(num(a[0]!))) });
const f2 = (f: (x: number, y: number) => number): BuiltinFunction => ({ arity: [2, 2], call: (a) => out(f(num(a[0]!), num(a[1]!))) });
const cmp = (test: (c: number) => boolean): BuiltinFunction => ({ arity: [2, 2], call: (a) => test(compareValues(a[0]!, a[1]!)) });
const numbers = (a: readonly Value[]): number[] => a.filter((v) => v !== null).map(num);

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Java's Math.round-like rounding used by PMML `round` (half up). */
function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}

/** Apply a C/Java-style format with one numeric conversion (%d, %f, %.3f, %e, %g, %s). */
function formatNumber(value: number, pattern: string): string {
  return pattern.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([dfeEgGsx])/, (_m, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    let s: string;
    const p = prec === undefined ? undefined : Number(prec);
    switch (conv) {
      case 'd': s = String(Math.trunc(value)); break;
      case 'f': s = value.toFixed(p ?? 6); break;
      case 'e': case 'E': s = value.toExponential(p ?? 6).replace(/e([+-])(\d)$/, 'e$10$2'); if (conv === 'E') s = s.toUpperCase(); break;
      case 'g': case 'G': s = value.toPrecision(p ?? 6); break;
      case 'x': s = Math.trunc(value).toString(16); break;
      default: s = formatValue(value);
    }
    if (flags.includes('+') && value >= 0) s = `+${s}`;
    const w = width === undefined ? 0 : Number(width);
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') ? s.replace(/^([+-]?)/, (sign) => sign + '0'.repeat(w - s.length)) : s.padStart(w);
    return s;
  });
}

const MS_PER_DAY = 86_400_000;

function dateOf(v: Value): Date | undefined {
  const d = new Date(typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : String(v).replace(/(T\d{2}:\d{2}:\d{2})$/, '$1Z'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function daysSinceYear(v: Value, year: number): Value {
  const d = dateOf(v);
  if (!d) return null;
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(year, 0, 1)) / MS_PER_DAY);
}

function secondsSinceYear(v: Value, year: number): Value {
  const d = dateOf(v);
  if (!d) return null;
  return Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / 1000);
}

function secondsSinceMidnight(v: Value): Value {
  const m = /(\d{1,2}):(\d{2}):(\d{2})/.exec(String(v));
  if (!m) return null;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

export const BUILTINS: Readonly<Record<string, BuiltinFunction>> = {
  '+': f2((x, y) => x + y),
  '-': f2((x, y) => x - y),
  '*': f2((x, y) => x * y),
  '/': f2((x, y) => x / y),
  min: { arity: [1, MANY], call: (a) => (a.every((v) => v === null) ? null : Math.min(...numbers(a))), handlesMissing: true },
  max: { arity: [1, MANY], call: (a) => (a.every((v) => v === null) ? null : Math.max(...numbers(a))), handlesMissing: true },
  sum: { arity: [1, MANY], call: (a) => numbers(a).reduce((s, x) => s + x, 0), handlesMissing: true },
  avg: { arity: [1, MANY], call: (a) => { const xs = numbers(a); return xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length; }, handlesMissing: true },
  median: { arity: [1, MANY], call: (a) => { const xs = numbers(a); return xs.length === 0 ? null : median(xs); }, handlesMissing: true },
  product: { arity: [1, MANY], call: (a) => numbers(a).reduce((s, x) => s * x, 1), handlesMissing: true },
  log10: f1(Math.log10),
  ln: f1(Math.log),
  sqrt: f1(Math.sqrt),
  abs: f1(Math.abs),
  exp: f1(Math.exp),
  pow: f2(Math.pow),
  threshold: f2((x, y) => (x > y ? 1 : 0)),
  floor: f1(Math.floor),
  ceil: f1(Math.ceil),
  round: f1(roundHalfUp),
  modulo: f2((x, y) => x - y * Math.floor(x / y)),
  'x-expm1': f1(Math.expm1),
  expm1: f1(Math.expm1),
  'x-ln1p': f1(Math.log1p),
  ln1p: f1(Math.log1p),
  'x-log1p': f1(Math.log1p),
  log1p: f1(Math.log1p),
  'x-atan': f1(Math.atan),
  atan: f1(Math.atan),
  'x-sin': f1(Math.sin),
  sin: f1(Math.sin),
  'x-cos': f1(Math.cos),
  cos: f1(Math.cos),
  'x-tan': f1(Math.tan),
  tan: f1(Math.tan),
  'x-tanh': f1(Math.tanh),
  tanh: f1(Math.tanh),
  'x-sinh': f1(Math.sinh),
  sinh: f1(Math.sinh),
  'x-cosh': f1(Math.cosh),
  cosh: f1(Math.cosh),
  'x-asin': f1(Math.asin),
  asin: f1(Math.asin),
  'x-acos': f1(Math.acos),
  acos: f1(Math.acos),
  'x-hypot': f2(Math.hypot),
  hypot: f2(Math.hypot),
  'x-atan2': f2(Math.atan2),
  atan2: f2(Math.atan2),
  'x-rint': f1((x) => { const r = Math.round(x); return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; }),
  rint: f1((x) => { const r = Math.round(x); return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; }),
  isMissing: { arity: [1, 1], call: (a) => a[0] === null, handlesMissing: true },
  isNotMissing: { arity: [1, 1], call: (a) => a[0] !== null, handlesMissing: true },
  equal: { arity: [2, 2], call: (a) => valuesEqual(a[0]!, a[1]!) },
  notEqual: { arity: [2, 2], call: (a) => !valuesEqual(a[0]!, a[1]!) },
  lessThan: cmp((c) => c < 0),
  lessOrEqual: cmp((c) => c <= 0),
  greaterThan: cmp((c) => c > 0),
  greaterOrEqual: cmp((c) => c >= 0),
  and: { arity: [1, MANY], call: (a) => (a.some((v) => v !== null && !bool(v)) ? false : a.some((v) => v === null) ? null : true), handlesMissing: true },
  or: { arity: [1, MANY], call: (a) => (a.some((v) => v !== null && bool(v)) ? true : a.some((v) => v === null) ? null : false), handlesMissing: true },
  not: { arity: [1, 1], call: (a) => !bool(a[0]!) },
  isIn: { arity: [2, MANY], call: (a) => a.slice(1).some((v) => valuesEqual(a[0]!, v)) },
  isNotIn: { arity: [2, MANY], call: (a) => !a.slice(1).some((v) => valuesEqual(a[0]!, v)) },
  coalesce: { arity: [1, MANY], call: (a) => a.find((v) => v !== null) ?? null, handlesMissing: true },
  uppercase: { arity: [1, 1], call: (a) => str(a[0]!).toUpperCase() },
  lowercase: { arity: [1, 1], call: (a) => str(a[0]!).toLowerCase() },
  // substring(input, startPos (1-based), length)
  substring: { arity: [3, 3], call: (a) => { const s = str(a[0]!); const start = Math.max(0, num(a[1]!) - 1); return s.substring(start, start + num(a[2]!)); } },
  trimBlanks: { arity: [1, 1], call: (a) => str(a[0]!).trim() },
  stringLength: { arity: [1, 1], call: (a) => str(a[0]!).length },
  concat: { arity: [1, MANY], call: (a) => a.filter((v) => v !== null).map(str).join(''), handlesMissing: true },
  replace: { arity: [3, 3], call: (a) => str(a[0]!).replace(new RegExp(str(a[1]!), 'g'), str(a[2]!).replace(/\$(\d)/g, '$$$1')) },
  matches: { arity: [2, 2], call: (a) => new RegExp(str(a[1]!)).test(str(a[0]!)) },
  formatNumber: { arity: [2, 2], call: (a) => formatNumber(num(a[0]!), str(a[1]!)) },
  formatDatetime: { arity: [2, 2], call: (a) => { const d = dateOf(a[0]!); return d ? str(a[1]!).replace('%Y', String(d.getUTCFullYear())).replace('%m', String(d.getUTCMonth() + 1).padStart(2, '0')).replace('%d', String(d.getUTCDate()).padStart(2, '0')) : null; } },
  dateDaysSinceYear: { arity: [2, 2], call: (a) => daysSinceYear(a[0]!, num(a[1]!)) },
  dateSecondsSinceYear: { arity: [2, 2], call: (a) => secondsSinceYear(a[0]!, num(a[1]!)) },
  dateSecondsSinceMidnight: { arity: [1, 1], call: (a) => secondsSinceMidnight(a[0]!) },
  'x-normalCDF': { arity: [3, 3], call: (a) => out(normalCdf((num(a[0]!) - num(a[1]!)) / num(a[2]!))) },
  normalCDF: { arity: [3, 3], call: (a) => out(normalCdf((num(a[0]!) - num(a[1]!)) / num(a[2]!))) },
  'x-stdNormalCDF': f1(normalCdf),
  stdNormalCDF: f1(normalCdf),
  'x-stdNormalPDF': f1((x) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI)), stdNormalPDF: f1((x) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI)),
  'x-stdNormalIDF': f1(normalQuantile),
  stdNormalIDF: f1(normalQuantile),
};

export { erfc, normalCdf };

/** Inverse of the standard normal CDF (Acklam's algorithm with one Halley refinement). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const q = p - 0.5;
    const r = q * q;
    x = (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}
