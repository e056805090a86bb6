/**
 * numpy's pickle protocol re-implemented: `dtype` (descr string + `__setstate__` tuple, structured
 * dtypes included), `ndarray` via `_reconstruct` + `__setstate__`, protocol 5's `_frombuffer`,
 * and `scalar`. Raw bytes become a typed array over the same buffer when aligned (else one copy).
 */
import type { PickleLimits } from './unpickler.js';
import { itemsOf, kindOf, NdArray, NpDtype, PickleError, PickleLimitExceeded, PyTuple, type NpData, type PyValue } from './values.js';

/** `numpy.dtype(descr, align, copy)`: the dtype of a descr string like `f8`, `<i4`, `U3`, `V56`, `O8`. */
export function dtypeFromDescr(args: readonly PyValue[]): NpDtype {
  const descr = args[0];
  if (typeof descr !== 'string') throw new PickleError(`numpy.dtype(${kindOf(descr)}) is not a dtype Ferry reads`);
  const m = /^([<>=|]?)([biufcOUSVM])(\d*)$/.exec(descr);
  if (!m) throw new PickleError(`numpy dtype "${descr}" is not supported`);
  const kind = m[2]!;
  const size = m[3] ? Number(m[3]) : kind === 'O' ? 8 : 0;
  const order = m[1] === '>' ? '>' : m[1] === '|' ? '|' : '<';
  const itemsize = kind === 'U' ? size * 4 : size;
  return new NpDtype(kind, itemsize, itemsize <= 1 || kind === 'O' ? '|' : order);
}

/**
 * dtype.__setstate__: (version, byteorder, subdtype, names, fields, elsize, alignment, flags[, metadata]).
 * Sets the byte order, and the item size and fields of flexible and structured dtypes.
 */
export function setDtypeState(dt: NpDtype, state: PyValue): void {
  const s = itemsOf(state);
  if (!s || s.length < 8) throw new PickleError('numpy dtype state is not the tuple numpy writes');
  const order = s[1];
  if (order === '>' || order === '<' || order === '|') dt.byteorder = order;
  else if (order === '=') dt.byteorder = '<';
  if (s[2] !== null) throw new PickleError('numpy sub-array dtypes are not supported');
  const elsize = s[5];
  if (typeof elsize === 'number' && elsize > 0 && (dt.kind === 'V' || dt.kind === 'U' || dt.kind === 'S')) dt.itemsize = elsize;
  const names = itemsOf(s[3] ?? null);
  const fields = s[4];
  if (names && fields instanceof Map) {
    const out = new Map<string, { dtype: NpDtype; offset: number }>();
    for (const name of names) {
      const f = itemsOf(fields.get(name as string) ?? null);
      const fdt = f?.[0];
      const offset = f?.[1];
      if (typeof name !== 'string' || !(fdt instanceof NpDtype) || typeof offset !== 'number' || offset < 0 || offset + fdt.itemsize > dt.itemsize) {
        throw new PickleError(`field ${typeof name === 'string' ? name : kindOf(name)} of a structured dtype is malformed`);
      }
      out.set(name, { dtype: fdt, offset });
    }
    dt.fields = out;
  }
}

/** `_reconstruct(ndarray, (0,), b'b')`: an empty array that BUILD fills. */
export function emptyArray(): NdArray {
  return new NdArray(new NpDtype('u', 1, '|'), [0], new Uint8Array(0));
}

/** ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata bytes | list of objects). */
export function setArrayState(arr: NdArray, state: PyValue, limits: PickleLimits): void {
  const s = itemsOf(state);
  if (!s || s.length < 5) throw new PickleError('numpy array state is not the tuple numpy writes');
  const [, shapeV, dtype, fortran, raw] = s.length === 5 ? s : [s[0], s[1], s[2], s[3], s[4]];
  if (!(dtype instanceof NpDtype)) throw new PickleError('numpy array state has no dtype');
  const shape = shapeOf(shapeV ?? null, limits);
  arr.dtype = dtype;
  arr.shape = shape;
  if (dtype.kind === 'O') {
    const items = itemsOf(raw ?? null);
    if (!items || items.length !== count(shape)) throw new PickleError('an object array does not hold one item per element');
    arr.data = fortran === true ? fromFortran([...items], shape) : [...items];
    return;
  }
  if (!(raw instanceof Uint8Array)) throw new PickleError(`numpy array data is ${kindOf(raw)}, not bytes`);
  arr.data = decodeArray(raw, dtype, shape, fortran === true, limits);
}

/** `_frombuffer(buffer, dtype, shape, order)` (numpy's protocol-5 reduce). */
export function fromBuffer(args: readonly PyValue[], limits: PickleLimits): NdArray {
  const [raw, dtype, shapeV, order] = args;
  if (!(raw instanceof Uint8Array) || !(dtype instanceof NpDtype)) throw new PickleError('numpy _frombuffer needs bytes and a dtype');
  const shape = shapeOf(shapeV ?? null, limits);
  return new NdArray(dtype, shape, decodeArray(raw, dtype, shape, order === 'F', limits));
}

/** `scalar(dtype, bytes)`: one numpy scalar (numpy.float64(…), numpy.int64(…)) as a plain value. */
export function scalar(args: readonly PyValue[], limits: PickleLimits): PyValue {
  const [dtype, raw] = args;
  if (!(dtype instanceof NpDtype) || !(raw instanceof Uint8Array)) {
    if (dtype instanceof NpDtype && dtype.kind === 'O') return raw ?? null;
    throw new PickleError('numpy scalar needs a dtype and bytes');
  }
  const data = decodeArray(raw, dtype, [1], false, limits);
  const v = data[0];
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (dtype.kind === 'b') return v === 1;
  return v ?? null;
}

function shapeOf(v: PyValue, limits: PickleLimits): number[] {
  const items = itemsOf(v);
  if (!items) throw new PickleError('numpy array shape is not a tuple');
  const shape = items.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : -1));
  if (shape.some((d) => d < 0)) throw new PickleError('numpy array shape holds a value that is not a size');
  if (count(shape) > limits.maxArrayElements) {
    throw new PickleLimitExceeded('array elements', `an array of shape [${shape.join(', ')}] has more elements than the limit of ${limits.maxArrayElements}`);
  }
  return shape;
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** An array's elements from its raw bytes (C order out), checked to be exactly the right length first. */
export function decodeArray(raw: Uint8Array, dtype: NpDtype, shape: readonly number[], fortran: boolean, limits: PickleLimits): NpData {
  const n = count(shape);
  if (n > limits.maxArrayElements) throw new PickleLimitExceeded('array elements', `an array of ${n} elements exceeds the limit of ${limits.maxArrayElements}`);
  if (raw.length !== n * dtype.itemsize) throw new PickleError(`numpy array data has ${raw.length} bytes for ${n} elements of ${dtype.str}`);
  let data: NpData;
  if (dtype.kind === 'U' || dtype.kind === 'S') data = strings(raw, dtype, n);
  else if (dtype.kind === 'V') data = raw.slice(); // structured records: fields are read by name (records.ts)
  else data = typed(raw, dtype);
  return fortran && shape.length > 1 ? fromFortran(data, shape) : data;
}

function typed(raw: Uint8Array, dtype: NpDtype): NpData {
  const { kind, itemsize } = dtype;
  type Ctor = { new (b: ArrayBuffer, o: number, n: number): NpData; BYTES_PER_ELEMENT: number };
  let ctor: Ctor | undefined;
  if (kind === 'f') ctor = itemsize === 8 ? Float64Array : itemsize === 4 ? Float32Array : undefined;
  else if (kind === 'i') ctor = ({ 1: Int8Array, 2: Int16Array, 4: Int32Array, 8: BigInt64Array } as Record<number, Ctor>)[itemsize];
  else if (kind === 'u' || kind === 'b') ctor = ({ 1: Uint8Array, 2: Uint16Array, 4: Uint32Array, 8: BigUint64Array } as Record<number, Ctor>)[itemsize];
  if (!ctor) throw new PickleError(`numpy dtype ${dtype.str} is not supported (float16, complex and datetime arrays are not model parameters Ferry reads)`);
  let bytes = raw;
  if (dtype.byteorder === '>' && itemsize > 1) {
    bytes = raw.slice();
    for (let i = 0; i < bytes.length; i += itemsize) bytes.subarray(i, i + itemsize).reverse();
  } else if (raw.byteOffset % itemsize !== 0) {
    bytes = raw.slice(); // unaligned inside the file: one copy
  }
  return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / itemsize);
}

function strings(raw: Uint8Array, dtype: NpDtype, n: number): PyValue[] {
  const out: PyValue[] = [];
  const w = dtype.itemsize;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < n; i++) {
    let s = '';
    if (dtype.kind === 'U') {
      for (let j = 0; j < w; j += 4) {
        const c = view.getUint32(i * w + j, dtype.byteorder !== '>');
        if (c === 0) break;
        if (c > 0x10ffff) throw new PickleError('a numpy string holds an invalid code point');
        s += String.fromCodePoint(c);
      }
    } else {
      for (let j = 0; j < w; j++) {
        const c = raw[i * w + j]!;
        if (c === 0) break;
        s += String.fromCharCode(c);
      }
    }
    out.push(s);
  }
  return out;
}

/** Fortran-ordered elements to C order. */
function fromFortran<T extends NpData>(data: T, shape: readonly number[]): T {
  if (shape.length < 2) return data;
  const n = count(shape);
  const out = (Array.isArray(data) ? new Array<PyValue>(n) : new (data.constructor as new (n: number) => NpData)(n)) as T;
  const strides = shape.map((_, i) => shape.slice(0, i).reduce((a, b) => a * b, 1)); // Fortran strides
  const idx = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < shape.length; d++) f += idx[d]! * strides[d]!;
    (out as unknown as unknown[])[c] = (data as unknown as unknown[])[f];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** A tuple of Python values, for handlers that return numpy's own reduce results. */
export function tuple(...items: PyValue[]): PyTuple {
  return new PyTuple(items);
}
