/**
 * Compiles PMML expressions (Constant, FieldRef, NormContinuous, NormDiscrete, Discretize,
 * MapValues, Apply) and predicates (SimplePredicate, SimpleSetPredicate, CompoundPredicate,
 * True, False) into closures. Predicates are three-valued: true, false, or null (unknown).
 */
import { BUILTINS } from './functions.js';
import type { DataType, Expr, FieldInfo, Row, Value } from './types.js';
import { attr, child, children, type XmlElement } from './xml.js';
import { compareValues, isNumeric, looksNumeric, parseArrayItems, parseNumber, PmmlError, toType, valueKey, valuesEqual } from './values.js';

export type Predicate = (row: Row) => boolean | null;

/** What the expression compiler needs to know about its surroundings. */
export interface ExprScope {
  field(name: string): FieldInfo | undefined;
  /** A DefineFunction by name, compiled on first use. */
  defined(name: string): DefinedFunction | undefined;
}

export interface DefinedFunction {
  readonly params: readonly { name: string; dataType: DataType | undefined }[];
  readonly dataType: DataType | undefined;
  body(): Expr;
}

export function unsupported(el: XmlElement, what?: string): never {
  throw new PmmlError('unsupported', el.name, what ?? `the element <${el.name}> is not supported`);
}

export function invalid(el: XmlElement, detail: string): never {
  throw new PmmlError('invalid', el.name, detail);
}

export function need(el: XmlElement, name: string): string {
  const v = attr(el, name);
  if (v === undefined) invalid(el, `attribute "${name}" is required`);
  return v;
}

export function numberAttr(el: XmlElement, name: string, fallback?: number): number {
  const text = attr(el, name);
  if (text === undefined) {
    if (fallback === undefined) invalid(el, `attribute "${name}" is required`);
    return fallback;
  }
  const n = parseNumber(text);
  if (Number.isNaN(n) && text.trim().toLowerCase() !== 'nan') invalid(el, `attribute ${name}="${text}" is not a number`);
  return n;
}

/** Parse attribute text as a value of a field (its data type), or inferred from the text when the field is unknown. */
export function parseFor(scope: ExprScope, fieldName: string, text: string): Value {
  const info = scope.field(fieldName);
  if (info) {
    const v = toType(info.dataType, text);
    if (v !== undefined) return v;
    return text;
  }
  return looksNumeric(text) ? parseNumber(text) : text;
}

/** A constant's value from its dataType attribute, or inferred. */
function constantValue(el: XmlElement): Value {
  if (attr(el, 'missing') === 'true') return null;
  const text = el.text.trim() === '' ? el.text : el.text.trim();
  const dataType = attr(el, 'dataType');
  if (dataType) {
    const v = toType(dataType, text);
    if (v === undefined) invalid(el, `"${text}" is not a ${dataType}`);
    return v;
  }
  return looksNumeric(text) ? parseNumber(text) : text;
}

/** Wrap an expression with a result data type conversion (DerivedField dataType). */
export function castTo(dataType: DataType | undefined, expr: Expr): Expr {
  if (!dataType) return expr;
  return (row) => {
    const v = expr(row);
    const c = toType(dataType, v);
    return c === undefined ? null : c;
  };
}

const EXPRESSIONS = new Set(['Constant', 'FieldRef', 'NormContinuous', 'NormDiscrete', 'Discretize', 'MapValues', 'Apply', 'TextIndex', 'Aggregate', 'Lag']);

/** Whether an element is an expression. */
export function isExpression(el: XmlElement): boolean {
  return EXPRESSIONS.has(el.name);
}

/** The (single) expression child of an element (DerivedField, OutputField, DefineFunction…). */
export function expressionChild(el: XmlElement): XmlElement | undefined {
  return el.children.find((c) => EXPRESSIONS.has(c.name));
}

/** Compile an expression element. */
export function compileExpression(el: XmlElement, scope: ExprScope): Expr {
  const compile = Object.hasOwn(EXPRESSION_COMPILERS, el.name) ? EXPRESSION_COMPILERS[el.name] : undefined;
  return compile ? compile(el, scope) : unsupported(el);
}

/**
 * Expression compilers by element name, one entry a line: an edge package's bundle keeps only the
 * entries its document uses (src/edge/bundle.ts), so the table is the one place that reaches them.
 */
const EXPRESSION_COMPILERS: Readonly<Record<string, (el: XmlElement, scope: ExprScope) => Expr>> = {
  Constant: constant,
  FieldRef: fieldRef,
  NormContinuous: normContinuous,
  NormDiscrete: normDiscrete,
  Discretize: discretize,
  MapValues: mapValues,
  Apply: apply,
};

function constant(el: XmlElement): Expr {
  const v = constantValue(el);
  return () => v;
}

function fieldRef(el: XmlElement, scope: ExprScope): Expr {
  const name = need(el, 'field');
  const mapMissing = attr(el, 'mapMissingTo');
  if (mapMissing === undefined) return (row) => row.get(name);
  const m = parseFor(scope, name, mapMissing);
  return (row) => row.get(name) ?? m;
}

function normDiscrete(el: XmlElement, scope: ExprScope): Expr {
  const name = need(el, 'field');
  const value = parseFor(scope, name, need(el, 'value'));
  const mapMissing = attr(el, 'mapMissingTo');
  const m = mapMissing === undefined ? null : parseNumber(mapMissing);
  return (row) => {
    const v = row.get(name);
    if (v === null) return m;
    return valuesEqual(v, value) ? 1 : 0;
  };
}

function normContinuous(el: XmlElement, scope: ExprScope): Expr {
  const name = need(el, 'field');
  const norms = children(el, 'LinearNorm').map((n) => ({ orig: numberAttr(n, 'orig'), norm: numberAttr(n, 'norm') }));
  if (norms.length < 2) invalid(el, 'NormContinuous needs at least two LinearNorm elements');
  const orig = Float64Array.from(norms.map((n) => n.orig));
  const norm = Float64Array.from(norms.map((n) => n.norm));
  const outliers = attr(el, 'outliers') ?? 'asIs';
  if (!['asIs', 'asMissingValues', 'asExtremeValues'].includes(outliers)) invalid(el, `outliers="${outliers}" is not a PMML outlier treatment`);
  const mapMissing = attr(el, 'mapMissingTo');
  const m = mapMissing === undefined ? null : parseNumber(mapMissing);
  const k = orig.length;
  void scope;
  return (row) => {
    const raw = row.get(name);
    if (raw === null) return m;
    const x = typeof raw === 'number' ? raw : parseNumber(String(raw));
    if (Number.isNaN(x)) return null;
    let i: number;
    if (x < orig[0]!) {
      if (outliers === 'asMissingValues') return null;
      if (outliers === 'asExtremeValues') return norm[0]!;
      i = 0;
    } else if (x > orig[k - 1]!) {
      if (outliers === 'asMissingValues') return null;
      if (outliers === 'asExtremeValues') return norm[k - 1]!;
      i = k - 2;
    } else {
      i = 0;
      while (i < k - 2 && x > orig[i + 1]!) i++;
    }
    const x0 = orig[i]!;
    const x1 = orig[i + 1]!;
    const y0 = norm[i]!;
    const y1 = norm[i + 1]!;
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0);
  };
}

/** An Interval test: closure over margins and closure. */
export function intervalTest(el: XmlElement): (x: number) => boolean {
  const closure = need(el, 'closure');
  const left = attr(el, 'leftMargin') === undefined ? -Infinity : numberAttr(el, 'leftMargin');
  const right = attr(el, 'rightMargin') === undefined ? Infinity : numberAttr(el, 'rightMargin');
  switch (closure) {
    case 'openOpen': return (x) => x > left && x < right;
    case 'openClosed': return (x) => x > left && x <= right;
    case 'closedOpen': return (x) => x >= left && x < right;
    case 'closedClosed': return (x) => x >= left && x <= right;
    default: return invalid(el, `closure="${closure}" is not a PMML interval closure`);
  }
}

/**
 * The Interval reader by element name (a DataField's valid intervals), one entry a line: an exported
 * package of a document without an Interval leaves it out (src/edge/narrowing.ts).
 */
export const INTERVAL_READERS: { readonly Interval?: (el: XmlElement) => (x: number) => boolean } = {
  Interval: intervalTest,
};

function discretize(el: XmlElement, scope: ExprScope): Expr {
  const name = need(el, 'field');
  const dataType = attr(el, 'dataType');
  const cast = (text: string | undefined): Value => (text === undefined ? null : dataType ? toType(dataType, text) ?? text : looksNumeric(text) ? parseNumber(text) : text);
  const bins = children(el, 'DiscretizeBin').map((b) => {
    const interval = child(b, 'Interval');
    if (!interval) invalid(b, 'DiscretizeBin needs an Interval');
    return { test: intervalTest(interval), value: cast(need(b, 'binValue')) };
  });
  const m = cast(attr(el, 'mapMissingTo'));
  const d = cast(attr(el, 'defaultValue'));
  void scope;
  return (row) => {
    const raw = row.get(name);
    if (raw === null) return m;
    const x = typeof raw === 'number' ? raw : parseNumber(String(raw));
    for (const b of bins) if (b.test(x)) return b.value;
    return d;
  };
}

function mapValues(el: XmlElement, scope: ExprScope): Expr {
  const outputColumn = need(el, 'outputColumn');
  const dataType = attr(el, 'dataType');
  const pairs = children(el, 'FieldColumnPair').map((p) => ({ field: need(p, 'field'), column: need(p, 'column') }));
  const table = child(el, 'InlineTable');
  if (!table && child(el, 'TableLocator')) unsupported(child(el, 'TableLocator')!, 'TableLocator (external tables) is not supported; inline the table');
  const cast = (text: string | undefined): Value => (text === undefined ? null : dataType ? toType(dataType, text) ?? text : text);
  const lookup = new Map<string, Value>();
  for (const row of children(table ?? el, 'row')) {
    const cells = new Map(row.children.map((c) => [c.name, c.text]));
    const key = pairs.map((p) => valueKey(parseFor(scope, p.field, cells.get(p.column) ?? ''))).join('\u0000');
    const out = cells.get(outputColumn);
    if (out !== undefined && !lookup.has(key)) lookup.set(key, cast(out));
  }
  const m = cast(attr(el, 'mapMissingTo'));
  const d = cast(attr(el, 'defaultValue'));
  return (row) => {
    const keys: string[] = [];
    for (const p of pairs) {
      const v = row.get(p.field);
      if (v === null) return m;
      keys.push(valueKey(v));
    }
    const hit = lookup.get(keys.join('\u0000'));
    return hit === undefined ? d : hit;
  };
}

function apply(el: XmlElement, scope: ExprScope): Expr {
  const fn = need(el, 'function');
  const args = el.children.filter((c) => c.name !== 'Extension').map((c) => compileExpression(c, scope));
  const mapMissing = attr(el, 'mapMissingTo');
  const m = mapMissing === undefined ? null : looksNumeric(mapMissing) ? parseNumber(mapMissing) : mapMissing;
  const defaultText = attr(el, 'defaultValue');
  const dflt = defaultText === undefined ? null : looksNumeric(defaultText) ? parseNumber(defaultText) : defaultText;
  const treatment = attr(el, 'invalidValueTreatment') ?? 'returnInvalid';
  let body: (row: Row) => Value;
  const form = Object.hasOwn(SPECIAL_FORMS, fn) ? SPECIAL_FORMS[fn] : undefined;
  const defined = form ? undefined : scope.defined(fn);
  if (form) body = form(el, args, mapMissing, m);
  else if (defined) {
    const call = DEFINED_CALLS.DefineFunction ?? unsupported(el, `function "${fn}" is a DefineFunction`);
    body = call(el, fn, defined, args, mapMissing, m);
  } else {
    const builtin = BUILTINS[fn];
    if (!builtin) unsupported(el, `function "${fn}" is not a PMML built-in function nor defined by a DefineFunction`);
    if (args.length < builtin.arity[0] || args.length > builtin.arity[1]) invalid(el, `function "${fn}" does not take ${args.length} argument(s)`);
    const { call, handlesMissing } = builtin;
    body = (row) => {
      const values = args.map((a) => a(row));
      if (!handlesMissing && values.some((v) => v === null)) return mapMissing === undefined ? null : m;
      if (handlesMissing && mapMissing !== undefined && values.some((v) => v === null)) return m;
      const v = call(values);
      if (typeof v === 'number' && !Number.isFinite(v) && !Number.isNaN(v) && treatment === 'asMissing') return null;
      return v;
    };
  }
  if (dflt === null) return body;
  return (row) => body(row) ?? dflt;
}

/** Apply's forms that are not calls of evaluated arguments, by function name, one entry a line (cut like BUILTINS). */
const SPECIAL_FORMS: Readonly<Record<string, (el: XmlElement, args: readonly Expr[], mapMissing: string | undefined, m: Value) => Expr>> = {
  if: ifForm,
};

/** `if`: the condition's branch only; a missing condition is missing (or mapMissingTo). */
function ifForm(el: XmlElement, args: readonly Expr[], mapMissing: string | undefined, m: Value): Expr {
  if (args.length < 2 || args.length > 3) invalid(el, 'if takes 2 or 3 arguments');
  const [test, then, otherwise] = args as [Expr, Expr, Expr | undefined];
  return (row) => {
    const t = test(row);
    if (t === null) return mapMissing === undefined ? null : m;
    const yes = typeof t === 'boolean' ? t : typeof t === 'number' ? t !== 0 : t === 'true';
    return yes ? then(row) : otherwise ? otherwise(row) : null;
  };
}

/**
 * Calls of a DefineFunction, keyed by that element's name: an exported package of a document
 * without DefineFunction leaves it out (src/edge/narrowing.ts cuts this table like the others).
 */
const DEFINED_CALLS: { readonly DefineFunction?: (el: XmlElement, fn: string, defined: DefinedFunction, args: readonly Expr[], mapMissing: string | undefined, m: Value) => Expr } = {
  DefineFunction: definedCall,
};

/** A DefineFunction's body over its parameters (typed), its result cast to its dataType. */
function definedCall(el: XmlElement, fn: string, defined: DefinedFunction, args: readonly Expr[], mapMissing: string | undefined, m: Value): Expr {
  if (defined.params.length !== args.length) invalid(el, `function "${fn}" takes ${defined.params.length} argument(s), got ${args.length}`);
  const params = defined.params;
  return (row) => {
    const own = new Map<string, Value>();
    for (let i = 0; i < params.length; i++) {
      const v = args[i]!(row);
      if (v === null && mapMissing !== undefined) return m;
      const p = params[i]!;
      own.set(p.name, p.dataType ? toType(p.dataType, v) ?? null : v);
    }
    const fnRow: Row = { get: (name) => own.get(name) ?? null };
    const v = defined.body()(fnRow);
    return defined.dataType ? toType(defined.dataType, v) ?? null : v;
  };
}

/** Compile a predicate element. */
export function compilePredicate(el: XmlElement, scope: ExprScope): Predicate {
  const compile = Object.hasOwn(PREDICATE_COMPILERS, el.name) ? PREDICATE_COMPILERS[el.name] : undefined;
  return compile ? compile(el, scope) : unsupported(el, `<${el.name}> is not a supported predicate`);
}

/** Predicate compilers by element name, one entry a line (an edge package keeps those its document uses). */
const PREDICATE_COMPILERS: Readonly<Record<string, (el: XmlElement, scope: ExprScope) => Predicate>> = {
  True: () => () => true,
  False: () => () => false,
  SimplePredicate: simplePredicate,
  SimpleSetPredicate: simpleSetPredicate,
  CompoundPredicate: compoundPredicate,
};

/** The predicate child of an element (Node, Segment, SimpleRule…). */
export function predicateChild(el: XmlElement): XmlElement | undefined {
  return el.children.find((c) => c.name === 'SimplePredicate' || c.name === 'SimpleSetPredicate' || c.name === 'CompoundPredicate' || c.name === 'True' || c.name === 'False');
}

function simplePredicate(el: XmlElement, scope: ExprScope): Predicate {
  const name = need(el, 'field');
  const op = need(el, 'operator');
  if (op === 'isMissing') return (row) => row.get(name) === null;
  if (op === 'isNotMissing') return (row) => row.get(name) !== null;
  const value = parseFor(scope, name, need(el, 'value'));
  const numeric = typeof value === 'number';
  const c = (row: Row): number | null => {
    const v = row.get(name);
    if (v === null) return null;
    if (numeric && typeof v === 'number') return v < value ? -1 : v > value ? 1 : 0;
    return compareValues(v, value);
  };
  switch (op) {
    case 'equal': return (row) => { const v = row.get(name); return v === null ? null : valuesEqual(v, value); };
    case 'notEqual': return (row) => { const v = row.get(name); return v === null ? null : !valuesEqual(v, value); };
    case 'lessThan': return (row) => { const r = c(row); return r === null ? null : r < 0; };
    case 'lessOrEqual': return (row) => { const r = c(row); return r === null ? null : r <= 0; };
    case 'greaterThan': return (row) => { const r = c(row); return r === null ? null : r > 0; };
    case 'greaterOrEqual': return (row) => { const r = c(row); return r === null ? null : r >= 0; };
    default: return invalid(el, `operator="${op}" is not a PMML SimplePredicate operator`);
  }
}

function simpleSetPredicate(el: XmlElement, scope: ExprScope): Predicate {
  const name = need(el, 'field');
  const op = need(el, 'booleanOperator');
  const array = child(el, 'Array');
  if (!array) invalid(el, 'SimpleSetPredicate needs an Array');
  const info = scope.field(name);
  const numericField = info !== undefined && isNumeric(info.dataType);
  const set = new Set(parseArrayItems(array.text).map((t) => valueKey(numericField ? parseFor(scope, name, t) : t)));
  const isIn = op === 'isIn';
  if (!isIn && op !== 'isNotIn') invalid(el, `booleanOperator="${op}" is not isIn or isNotIn`);
  return (row) => {
    const v = row.get(name);
    if (v === null) return null;
    return set.has(valueKey(v)) === isIn;
  };
}

function compoundPredicate(el: XmlElement, scope: ExprScope): Predicate {
  const op = need(el, 'booleanOperator');
  const parts = el.children.filter((c) => c.name !== 'Extension').map((c) => compilePredicate(c, scope));
  switch (op) {
    case 'and': return (row) => {
      let unknown = false;
      for (const p of parts) {
        const r = p(row);
        if (r === false) return false;
        if (r === null) unknown = true;
      }
      return unknown ? null : true;
    };
    case 'or': return (row) => {
      let unknown = false;
      for (const p of parts) {
        const r = p(row);
        if (r === true) return true;
        if (r === null) unknown = true;
      }
      return unknown ? null : false;
    };
    case 'xor': return (row) => {
      let acc = false;
      for (const p of parts) {
        const r = p(row);
        if (r === null) return null;
        acc = acc !== r;
      }
      return acc;
    };
    case 'surrogate': return (row) => {
      for (const p of parts) {
        const r = p(row);
        if (r !== null) return r;
      }
      return null;
    };
    default: return invalid(el, `booleanOperator="${op}" is not and, or, xor or surrogate`);
  }
}
