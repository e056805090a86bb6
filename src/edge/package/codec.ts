/**
 * The compact binary form of a compiled model: the plain-object tree a runtime compiles an
 * artifact into (numbers, strings, arrays, typed arrays) written as a JSON header plus the
 * typed arrays' bytes. Lossless: an array is stored in a narrower type only when every
 * element survives the round trip (float32 thresholds held in a Float64Array, node indexes
 * that fit 16 bits), and decoded back into the type the evaluator expects. Little-endian, as
 * every platform that runs JavaScript today is.
 *
 * Runs both in Ferry (encode) and inside an exported package (decode), so it uses nothing
 * but the language.
 */

/** Typed arrays the codec carries, by constructor name. */
const ARRAYS = {
  Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array,
} as const;
type ArrayName = keyof typeof ARRAYS;
type Typed = InstanceType<(typeof ARRAYS)[ArrayName]>;

/** A typed array in the header: its type in memory, how it is stored, where, and how many. */
interface Slot { readonly $a: ArrayName; readonly as: ArrayName; readonly at: number; readonly n: number }

const MAGIC = 0x31595246; // "FRY1"

/** Serialise a compiled model. Functions, Maps and class instances other than typed arrays are refused. */
export function encodeModel(value: unknown): Uint8Array {
  const arrays: { data: Typed; at: number }[] = [];
  let offset = 0;
  const header = JSON.stringify(value, function replacer(this: unknown, _key, v: unknown) {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $n: String(v) };
    if (typeof v === 'function' || v instanceof Map || v instanceof Set) throw new TypeError('the compiled model holds code or a Map, not plain data');
    if (!ArrayBuffer.isView(v)) return v;
    const name = typedName(v);
    const stored = narrowest(v as Typed, name);
    offset = align(offset, stored.BYTES_PER_ELEMENT);
    const slot: Slot = { $a: name, as: typedName(stored), at: offset, n: stored.length };
    arrays.push({ data: stored, at: offset });
    offset += stored.byteLength;
    return slot;
  });
  const head = new TextEncoder().encode(header);
  const start = align(8 + head.length, 8);
  const out = new Uint8Array(start + offset);
  new DataView(out.buffer).setUint32(0, MAGIC, true);
  new DataView(out.buffer).setUint32(4, head.length, true);
  out.set(head, 8);
  for (const { data, at } of arrays) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start + at);
  return out;
}

/** Read back what `encodeModel` wrote. */
export function decodeModel<T>(bytes: Uint8Array): T {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new TypeError('the model data is not a Ferry edge model (bad magic)');
  const headLength = view.getUint32(4, true);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headLength));
  const start = align(8 + headLength, 8);
  // A private, aligned copy of the array section: typed arrays need aligned offsets.
  const body = bytes.slice(start).buffer;
  return JSON.parse(header, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object') return v;
    const o = v as Partial<Slot> & { $n?: string };
    if (typeof o.$n === 'string') return Number(o.$n);
    if (o.$a === undefined || o.as === undefined || o.at === undefined || o.n === undefined) return v;
    const stored = new ARRAYS[o.as](body, o.at, o.n);
    return o.as === o.$a ? stored : ARRAYS[o.$a].from(stored);
  }) as T;
}

function typedName(v: ArrayBufferView): ArrayName {
  const name = v.constructor.name;
  if (!(name in ARRAYS)) throw new TypeError(`typed array ${name} is not supported`);
  return name as ArrayName;
}

/** The narrowest typed array holding exactly the same values. */
function narrowest(v: Typed, name: ArrayName): Typed {
  if (name === 'Float64Array') {
    const f = Float32Array.from(v as Float64Array);
    return f.every((x, i) => Object.is(x, v[i]) || (x !== x && v[i] !== v[i])) ? f : v;
  }
  if (name === 'Int32Array' || name === 'Uint32Array') {
    let lo = 0;
    let hi = 0;
    for (const x of v as Int32Array) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (lo >= -128 && hi <= 127) return Int8Array.from(v as Int32Array);
    if (lo >= 0 && hi <= 255) return Uint8Array.from(v as Int32Array);
    if (lo >= -32768 && hi <= 32767) return Int16Array.from(v as Int32Array);
    if (lo >= 0 && hi <= 65535) return Uint16Array.from(v as Int32Array);
  }
  return v;
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * The same plain-object tree as JSON text, typed arrays as `{ "$t": type, "v": [numbers] }` (shortest
 * round-trip decimals, so lossless). Smaller than the binary form for small models, whose text
 * gzips together with the package's other JSON (field names) once the binary's base64 would not.
 */
export function encodeModelText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $n: String(v) };
    if (typeof v === 'function' || v instanceof Map || v instanceof Set) throw new TypeError('the compiled model holds code or a Map, not plain data');
    if (!ArrayBuffer.isView(v)) return v;
    return { $t: typedName(v), v: Array.from(v as Typed, (x) => (Number.isFinite(x) ? x : { $n: String(x) })) };
  });
}

/** Read back what `encodeModel` (binary) or `encodeModelText` (JSON text, first byte `{`) wrote. */
export function decodeAnyModel<T>(bytes: Uint8Array): T {
  if (bytes[0] !== 0x7b) return decodeModel<T>(bytes);
  return JSON.parse(new TextDecoder().decode(bytes), (_key, v: unknown) => {
    if (v === null || typeof v !== 'object') return v;
    const o = v as { $n?: string; $t?: ArrayName; v?: number[] };
    if (typeof o.$n === 'string') return Number(o.$n);
    if (o.$t !== undefined && Array.isArray(o.v)) return ARRAYS[o.$t].from(o.v);
    return v;
  }) as T;
}
