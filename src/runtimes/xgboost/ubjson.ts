/**
 * A small Universal Binary JSON (UBJSON, ubjson.org draft 12) decoder, enough for the files
 * xgboost's `save_model("….ubj")` writes: objects, arrays, strings, big-endian numbers, and
 * optimized (`$type#count`) containers. Typed numeric arrays decode to typed arrays (float32 stays
 * Float32Array, so split thresholds keep their exact bits) rather than to number[].
 */
import { ArtifactError } from '../artifact-error.js';

export type UbjValue =
  | null | boolean | number | bigint | string
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array
  | UbjValue[]
  | { [key: string]: UbjValue };

/** Thrown for malformed input (the catalog reports it as FERRY_E_ARTIFACT_INVALID). */
export class UbjsonError extends ArtifactError {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUbjson(bytes: Uint8Array): UbjValue {
  const reader = new Reader(bytes);
  const value = reader.value(reader.marker());
  if (reader.pos !== bytes.byteLength) throw new UbjsonError(`trailing bytes after the top-level value at offset ${reader.pos}`);
  return value;
}

/**
 * Elements (array items, object entries) a document may hold beyond one per byte. Typed
 * containers of zero-width elements (`[$Z#…`) take no bytes per element, so nested ones could
 * otherwise multiply a few kilobytes into billions of elements.
 */
const SPARE_ELEMENTS = 1_000_000;

class Reader {
  pos = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #budget: number;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#budget = bytes.byteLength + SPARE_ELEMENTS;
  }

  /** Count `n` elements against the document's budget before allocating them. */
  #spend(n: number): void {
    this.#budget -= n;
    if (this.#budget < 0) throw new UbjsonError(`the document holds more elements than its size allows (more than ${this.#bytes.byteLength + SPARE_ELEMENTS}); it is not a model file`);
  }

  marker(): number {
    let m: number;
    do {
      this.#need(1);
      m = this.#bytes[this.pos++] ?? 0;
    } while (m === 0x4e); // 'N' no-op
    return m;
  }

  value(m: number): UbjValue {
    switch (String.fromCharCode(m)) {
      case 'Z': return null;
      case 'T': return true;
      case 'F': return false;
      case 'i': case 'U': case 'I': case 'l': case 'd': case 'D': return this.#number(m);
      case 'L': return this.#int64();
      case 'C': this.#need(1); return String.fromCharCode(this.#bytes[this.pos++] ?? 0);
      case 'S': return this.#string();
      case 'H': return this.#highPrecision();
      case '[': return this.#array();
      case '{': return this.#object();
      default: throw new UbjsonError(`unknown type marker 0x${m.toString(16).padStart(2, '0')} at offset ${this.pos - 1}`);
    }
  }

  #need(n: number): void {
    if (this.pos + n > this.#bytes.byteLength) throw new UbjsonError(`unexpected end of data at offset ${this.pos}`);
  }

  #number(m: number): number {
    const v = this.#view;
    const at = this.pos;
    switch (m) {
      case 0x69: this.#need(1); this.pos += 1; return v.getInt8(at); // i
      case 0x55: this.#need(1); this.pos += 1; return v.getUint8(at); // U
      case 0x49: this.#need(2); this.pos += 2; return v.getInt16(at); // I
      case 0x6c: this.#need(4); this.pos += 4; return v.getInt32(at); // l
      case 0x64: this.#need(4); this.pos += 4; return v.getFloat32(at); // d
      case 0x44: this.#need(8); this.pos += 8; return v.getFloat64(at); // D
      default: throw new UbjsonError(`marker 0x${m.toString(16)} is not a number at offset ${at - 1}`);
    }
  }

  #int64(): number | bigint {
    this.#need(8);
    const big = this.#view.getBigInt64(this.pos);
    this.pos += 8;
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** A length or count: any integer type, non-negative. */
  #length(): number {
    const m = this.marker();
    const n = m === 0x4c ? this.#int64() : this.#number(m);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new UbjsonError(`invalid length at offset ${this.pos}`);
    return n;
  }

  #string(): string {
    const n = this.#length();
    this.#need(n);
    let s: string;
    try {
      s = utf8.decode(this.#bytes.subarray(this.pos, this.pos + n));
    } catch {
      throw new UbjsonError(`a string at offset ${this.pos} is not valid UTF-8`);
    }
    this.pos += n;
    return s;
  }

  #highPrecision(): number {
    const s = this.#string();
    const n = Number(s);
    if (Number.isNaN(n)) throw new UbjsonError(`high-precision number "${s}" is not a number`);
    return n;
  }

  /** The `$type` and `#count` of an optimized container, if present. */
  #header(): { type: number | undefined; count: number | undefined } {
    let type: number | undefined;
    let count: number | undefined;
    if (this.#bytes[this.pos] === 0x24) { // '$'
      this.pos++;
      this.#need(1);
      type = this.#bytes[this.pos++];
      if (this.#bytes[this.pos] !== 0x23) throw new UbjsonError(`a typed container needs a count at offset ${this.pos}`);
    }
    if (this.#bytes[this.pos] === 0x23) { // '#'
      this.pos++;
      count = this.#length();
    }
    return { type, count };
  }

  #array(): UbjValue {
    const { type, count } = this.#header();
    if (count !== undefined) {
      if (type !== undefined) {
        const typed = this.#typedArray(type, count);
        if (typed) return typed;
      }
      // No real file holds more elements than bytes: a cheap guard against absurd counts.
      if (count > this.#bytes.byteLength) throw new UbjsonError(`array count ${count} exceeds the file size`);
      this.#spend(count);
      const out: UbjValue[] = new Array<UbjValue>(count);
      for (let i = 0; i < count; i++) out[i] = this.value(type ?? this.marker());
      return out;
    }
    const out: UbjValue[] = [];
    for (;;) {
      const m = this.marker();
      if (m === 0x5d) return out; // ']'
      this.#spend(1);
      out.push(this.value(m));
    }
  }

  #typedArray(type: number, count: number): UbjValue | undefined {
    const size = ({ 0x69: 1, 0x55: 1, 0x49: 2, 0x6c: 4, 0x64: 4, 0x44: 8 } as Record<number, number>)[type];
    if (size === undefined) return undefined;
    this.#need(count * size);
    const v = this.#view;
    const at = this.pos;
    this.pos += count * size;
    switch (type) {
      case 0x69: return new Int8Array(this.#bytes.slice(at, at + count).buffer);
      case 0x55: return this.#bytes.slice(at, at + count);
      case 0x49: { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = v.getInt16(at + 2 * i); return a; }
      case 0x6c: { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = v.getInt32(at + 4 * i); return a; }
      case 0x64: { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = v.getFloat32(at + 4 * i); return a; }
      default: { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = v.getFloat64(at + 8 * i); return a; }
    }
  }

  #object(): UbjValue {
    const { type, count } = this.#header();
    if (count !== undefined && count > this.#bytes.byteLength) throw new UbjsonError(`object count ${count} exceeds the file size`);
    // No prototype: a "__proto__" key is data, like any other.
    const out = Object.create(null) as { [key: string]: UbjValue };
    if (count !== undefined) {
      this.#spend(count);
      for (let i = 0; i < count; i++) {
        const key = this.#string();
        out[key] = this.value(type ?? this.marker());
      }
      return out;
    }
    for (;;) {
      if (this.#bytes[this.pos] === 0x7d) { // '}'
        this.pos++;
        return out;
      }
      this.#spend(1);
      const key = this.#string();
      out[key] = this.value(this.marker());
    }
  }
}
