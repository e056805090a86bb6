/**
 * What the restricted unpickler builds: plain JavaScript values for Python's builtins, and inert
 * records for everything else. Nothing here can run code: a class is only a name, an instance
 * only its class name, constructor arguments and state.
 */
import { ArtifactError } from '../../artifact-error.js';

/** A refused or malformed stream (the catalog reports it as FERRY_E_ARTIFACT_INVALID). */
export class PickleError extends ArtifactError {}

/** A `GLOBAL`/`STACK_GLOBAL` (or `INST`) naming something outside the allowlist. */
export class PickleGlobalRefused extends ArtifactError {
  constructor(readonly global: string, readonly why: string) {
    super(`${global} is not on Ferry's allowlist (${why})`, 'FERRY_E_PICKLE_GLOBAL_REFUSED', { global, why });
  }
}

/** A limit (bytes, array elements, nesting depth, memo size) exceeded before anything was allocated. */
export class PickleLimitExceeded extends ArtifactError {
  constructor(readonly limit: string, readonly detail: string) {
    super(detail, 'FERRY_E_PICKLE_LIMIT', { limit, detail });
  }
}

/** A Python class or function named by the stream, resolved against the allowlist: a name, nothing to call. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an allowlisted class: its class, the arguments it was made with, its state. */
export class PyObject {
  state: PyValue = null;
  /** Items set on a dict subclass by SETITEM(S). */
  items: PyDict | undefined;
  constructor(readonly cls: PyGlobal, readonly args: readonly PyValue[]) {}
}

/** Python's tuple (a list is a plain array, so the two stay distinguishable). */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** Python's dict; keys are scalars (a stream with other keys is refused). */
export type PyKey = string | number | bigint | boolean | null;
export type PyDict = Map<PyKey, PyValue>;

/** A numpy dtype: kind (f, i, u, b, O, U, S, V), item size, byte order, and fields for structured ones. */
export class NpDtype {
  /** Structured dtypes (tree node records): the fields by name. */
  fields: ReadonlyMap<string, { readonly dtype: NpDtype; readonly offset: number }> | undefined;
  constructor(public kind: string, public itemsize: number, public byteorder: '<' | '>' | '|') {}
  get str(): string {
    return `${this.byteorder}${this.kind}${this.itemsize}`;
  }
}

/** Flat storage of a numeric array (row-major), or the items of an object/string array. */
export type NpData = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array | BigInt64Array | BigUint64Array | PyValue[];

/** A numpy array. Structured arrays keep their raw bytes (`data` is a Uint8Array of records). */
export class NdArray {
  constructor(
    public dtype: NpDtype,
    public shape: readonly number[],
    public data: NpData,
  ) {}
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyGlobal
  | PyObject
  | NpDtype
  | NdArray;

/** The items of a list or tuple, else undefined. */
export function itemsOf(v: PyValue | undefined): readonly PyValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  return undefined;
}

/** A short description of a value for error messages. */
export function kindOf(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof Map) return 'dict';
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof PyObject) return `${v.cls.qualname} instance`;
  if (v instanceof NpDtype) return 'numpy.dtype';
  return `numpy array ${v.dtype.str} [${v.shape.join(', ')}]`;
}
