/**
 * PMML values: parsing attribute text into typed values, converting between data types and
 * comparing values. Numbers stand for integer/float/double (and the numeric date types),
 * strings for string, booleans for boolean; `null` is missing.
 */
import { ArtifactError } from '../artifact-error.js';
import type { FieldInfo, Value } from './types.js';

/** Thrown while compiling a document; the catalog reports it as FERRY_E_PMML_UNSUPPORTED or FERRY_E_PMML_INVALID, naming the element. */
export class PmmlError extends ArtifactError {
  constructor(readonly kind: 'unsupported' | 'invalid', readonly element: string, readonly detail: string) {
    super(`<${element}>: ${detail}`, kind === 'unsupported' ? 'FERRY_E_PMML_UNSUPPORTED' : 'FERRY_E_PMML_INVALID', { element, detail });
    this.name = 'PmmlError';
  }
}

const NUMERIC: ReadonlySet<string> = new Set(['integer', 'float', 'double', 'dateDaysSince[0]', 'dateDaysSince[1960]', 'dateDaysSince[1970]',
  'dateDaysSince[1980]', 'timeSeconds', 'dateTimeSecondsSince[0]', 'dateTimeSecondsSince[1960]', 'dateTimeSecondsSince[1970]', 'dateTimeSecondsSince[1980]']);

/** Whether values of this data type are numbers. */
export function isNumeric(dataType: string): boolean {
  return NUMERIC.has(dataType);
}

const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A number from PMML text (decimal, INF/-INF/NaN spellings); NaN when it is not one. */
export function parseNumber(text: string): number {
  if (NUMBER_TEXT.test(text)) return Number(text);
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === 'infinity' || t === '+inf') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number.NaN;
}

/** Whether text spells a number. */
export function looksNumeric(text: string): boolean {
  return !Number.isNaN(parseNumber(text));
}

/**
 * Convert a value to a data type; undefined when it cannot be (an invalid value).
 * Integer conversion keeps the number as is when it is integral.
 */
export function toType(dataType: string, value: Value): Value | undefined {
  if (value === null) return null;
  if (isNumeric(dataType)) {
    let n: number;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'boolean') n = value ? 1 : 0;
    else {
      n = parseNumber(value);
      if (Number.isNaN(n)) return undefined;
    }
    if (dataType === 'integer' && !Number.isInteger(n)) {
      return Number.isFinite(n) ? undefined : n;
    }
    if (dataType === 'float') return Math.fround(n);
    return n;
  }
  if (dataType === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : undefined;
    const t = value.trim().toLowerCase();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
    return undefined;
  }
  return typeof value === 'string' ? value : formatValue(value);
}

/** Text form of a value, as PMML writes it (integral doubles without a fraction). */
export function formatValue(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Infinity) return 'INF';
    if (value === -Infinity) return '-INF';
    return String(value);
  }
  return String(value);
}

/** Equality across types: a number equals text that parses to the same number. */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === 'number' && typeof b === 'string') return parseNumber(b) === a;
  if (typeof a === 'string' && typeof b === 'number') return parseNumber(a) === b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return toType('boolean', a) === toType('boolean', b);
  return false;
}

/** Ordering across types: numbers numerically (text parsed), strings by code units. */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'number' || typeof b === 'number') {
    const x = typeof a === 'number' ? a : parseNumber(String(a));
    const y = typeof b === 'number' ? b : parseNumber(String(b));
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : Number.NaN;
  }
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A key to find a value in a Map whatever its representation ("2", 2 and 2.0 meet). */
export function valueKey(value: Value): string {
  if (typeof value === 'number') return `n:${value}`;
  if (typeof value === 'string') {
    const n = parseNumber(value);
    return Number.isNaN(n) ? `s:${value}` : `n:${n}`;
  }
  return `s:${String(value)}`;
}

/** Items of a PMML Array (space separated; strings may be double-quoted with \" escapes). */
export function parseArrayItems(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) { s += text[i + 1]; i += 2; continue; }
        s += text[i];
        i++;
      }
      i++;
      out.push(s);
    } else {
      let s = '';
      while (i < text.length && !/\s/.test(text[i]!)) { s += text[i]; i++; }
      out.push(s);
    }
  }
  return out;
}

/** A result value cast to its field's data type (as it is when it cannot be). */
export function castResult(info: FieldInfo, v: Value): Value {
  if (v === null) return null;
  const c = toType(info.dataType, v);
  return c === undefined ? v : c;
}
