/**
 * Typed reads of a fitted estimator's attributes (its pickled `__dict__`), each failing with a
 * message that names the step and the attribute.
 */
import { ArtifactError } from '../artifact-error.js';
import { itemsOf, kindOf, NdArray, PyObject, type PyKey, type PyValue } from './pickle/values.js';

/** A fitted estimator that cannot be translated (an unsupported class, an unusual parameter). */
export class UnsupportedError extends ArtifactError {
  constructor(readonly step: string, readonly cls: string, readonly detail: string) {
    super(detail, 'FERRY_E_SKLEARN_UNSUPPORTED', { step, cls, detail });
  }
}

/** What is wrong with an estimator's attributes (the catalog reports it as FERRY_E_ARTIFACT_INVALID). */
export class EstimatorError extends ArtifactError {}

/** An estimator record and where it sits (`clf`, `preprocess/num/scaler`). */
export class Estimator {
  readonly attrs: Map<PyKey, PyValue>;
  constructor(readonly obj: PyObject, readonly step: string) {
    const state = obj.state instanceof Map ? obj.state : itemsOf(obj.state)?.[0];
    this.attrs = state instanceof Map ? state : new Map<PyKey, PyValue>();
  }

  get cls(): string {
    return this.obj.cls.qualname;
  }

  get name(): string {
    return this.obj.cls.name;
  }

  has(key: string): boolean {
    return this.attrs.has(key);
  }

  raw(key: string): PyValue | undefined {
    return this.attrs.get(key);
  }

  fail(detail: string): never {
    throw new EstimatorError(`${this.step} (${this.cls}): ${detail}`);
  }

  unsupported(detail: string): never {
    throw new UnsupportedError(this.step, this.cls, detail);
  }

  num(key: string): number {
    const v = this.attrs.get(key);
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'bigint') return Number(v);
    return this.fail(`attribute ${key} is ${kindOf(v)}, expected a number`);
  }

  int(key: string, min = 0): number {
    const n = this.num(key);
    if (!Number.isInteger(n) || n < min) this.fail(`attribute ${key} = ${n} is not an integer ≥ ${min}`);
    return n;
  }

  str(key: string): string {
    const v = this.attrs.get(key);
    if (typeof v !== 'string') this.fail(`attribute ${key} is ${kindOf(v)}, expected a string`);
    return v;
  }

  optStr(key: string): string | null {
    const v = this.attrs.get(key);
    return typeof v === 'string' ? v : null;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.attrs.get(key);
    return typeof v === 'boolean' ? v : v === undefined || v === null ? fallback : this.fail(`attribute ${key} is ${kindOf(v)}, expected a bool`);
  }

  array(key: string): NdArray {
    const v = this.attrs.get(key);
    if (!(v instanceof NdArray)) this.fail(`attribute ${key} is ${kindOf(v)}, expected a numpy array`);
    return v;
  }

  optArray(key: string): NdArray | null {
    const v = this.attrs.get(key);
    return v instanceof NdArray ? v : null;
  }

  /** A numeric array as float64 (any numeric dtype), checked to have `length` elements when given. */
  floats(key: string, length?: number): Float64Array {
    const a = this.array(key);
    const out = toFloat64(a, () => this.fail(`attribute ${key} is a ${a.dtype.str} array, expected numbers`));
    if (length !== undefined && out.length !== length) this.fail(`attribute ${key} has ${out.length} values, expected ${length}`);
    return out;
  }

  child(key: string, step = `${this.step}/${key}`): Estimator {
    const v = this.attrs.get(key);
    if (!(v instanceof PyObject)) this.fail(`attribute ${key} is ${kindOf(v)}, expected an estimator`);
    return new Estimator(v, step);
  }
}

/** Any numeric numpy array as float64 values. */
export function toFloat64(a: NdArray, fail: () => never): Float64Array {
  const d = a.data;
  if (d instanceof Float64Array) return d;
  if (Array.isArray(d)) {
    const out = new Float64Array(d.length);
    d.forEach((v, i) => {
      if (typeof v === 'number') out[i] = v;
      else if (typeof v === 'bigint') out[i] = Number(v);
      else if (v === null) out[i] = Number.NaN;
      else fail();
    });
    return out;
  }
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, (v) => Number(v));
  return Float64Array.from(d);
}

/** Class labels as JSON values (strings, or numbers for numeric classes). */
export function labelsOf(a: NdArray): (string | number)[] {
  const d = a.data;
  const out: (string | number)[] = [];
  for (let i = 0; i < a.size; i++) {
    const v = Array.isArray(d) ? d[i] : d[i];
    if (typeof v === 'string' || typeof v === 'number') out.push(v);
    else if (typeof v === 'bigint') out.push(Number(v));
    else if (typeof v === 'boolean') out.push(v ? 1 : 0);
    else throw new EstimatorError(`class label ${i} is ${kindOf(v)}, not a string or number`);
  }
  return out;
}
