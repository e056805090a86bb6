/**
 * Ferry's model document: what a scikit-learn pickle is translated into at registration and what
 * is stored as the version's artifact. One JSON header (the estimator tree, format version,
 * where it came from) and the numeric arrays as raw little-endian bytes after it:
 *
 *   "FERRYDOC" · u32 header length · header (UTF-8 JSON) · padding to 8 · array bytes
 *
 * In the header an array is `{"$array": i}`, an index into `arrays` (dtype, shape, offset,
 * length). Loading checks every offset and length against the file before making a view.
 */

import { ArtifactError } from '../artifact-error.js';

/** What is wrong with a document (the catalog reports it as FERRY_E_ARTIFACT_INVALID). */
export class DocumentError extends ArtifactError {}

export const MAGIC = 'FERRYDOC';
export const DOCUMENT_VERSION = 1;

export type DocArray = Float64Array | Int32Array | Uint8Array;
/** A JSON value whose leaves may also be typed arrays. */
export type DocValue = null | boolean | number | string | DocArray | readonly DocValue[] | { readonly [k: string]: DocValue };

interface ArrayEntry {
  readonly dtype: 'float64' | 'int32' | 'uint8';
  readonly offset: number;
  readonly length: number;
}

const encoder = new TextEncoder();

/** Serialise a document (header object with typed arrays anywhere in it). */
export function encodeDocument(doc: { readonly [k: string]: DocValue }): Uint8Array {
  const arrays: DocArray[] = [];
  const entries: ArrayEntry[] = [];
  let offset = 0;
  const header = JSON.stringify(doc, (_k, v: unknown) => {
    if (v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) {
      const i = arrays.length;
      arrays.push(v);
      entries.push({ dtype: v instanceof Float64Array ? 'float64' : v instanceof Int32Array ? 'int32' : 'uint8', offset, length: v.length });
      offset += align8(v.byteLength);
      return { $array: i };
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
    return v;
  });
  const headerBytes = encoder.encode(JSON.stringify({ arrays: entries, document: JSON.parse(header) as unknown }));
  const start = align8(12 + headerBytes.length);
  const out = new Uint8Array(start + offset);
  out.set(encoder.encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  entries.forEach((e, i) => {
    const a = arrays[i]!;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), start + e.offset);
  });
  return out;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Whether the bytes start like a Ferry model document. */
export function isDocument(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && new TextDecoder('latin1').decode(bytes.subarray(0, 8)) === MAGIC;
}

/** Parse a document; arrays are views of `bytes` when aligned, else copies. */
export function decodeDocument(bytes: Uint8Array): Record<string, DocValue> {
  if (!isDocument(bytes)) throw new DocumentError('the file is not a Ferry model document');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new DocumentError('the header runs past the end of the file');
  let parsed: { arrays?: unknown; document?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength))) as typeof parsed;
  } catch {
    throw new DocumentError('the header is not valid JSON');
  }
  const start = align8(12 + headerLength);
  const entries = Array.isArray(parsed.arrays) ? (parsed.arrays as ArrayEntry[]) : [];
  // Array data starts 8-aligned in the file: views when the file itself is 8-aligned in memory, else one copy.
  const file = bytes.byteOffset % 8 === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  const arrays = entries.map((e, i) => {
    const size = e.dtype === 'float64' ? 8 : e.dtype === 'int32' ? 4 : e.dtype === 'uint8' ? 1 : 0;
    if (!size || !Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < 0 || e.length < 0 || start + e.offset + e.length * size > bytes.length) {
      throw new DocumentError(`array ${i} lies outside the file`);
    }
    const at = file.byteOffset + start + e.offset;
    return e.dtype === 'float64' ? new Float64Array(file.buffer, at, e.length) : e.dtype === 'int32' ? new Int32Array(file.buffer, at, e.length) : new Uint8Array(file.buffer, at, e.length);
  });
  const revive = (v: unknown, depth: number): DocValue => {
    if (depth > 64) throw new DocumentError('the header nests too deeply');
    if (Array.isArray(v)) return v.map((x) => revive(x, depth + 1));
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$array === 'number') {
        const a = arrays[o.$array];
        if (!a) throw new DocumentError(`array reference ${o.$array} does not exist`);
        return a;
      }
      if (typeof o.$number === 'string') return Number(o.$number);
      const out: Record<string, DocValue> = {};
      for (const [k, x] of Object.entries(o)) out[k] = revive(x, depth + 1);
      return out;
    }
    return v as DocValue;
  };
  const doc = revive(parsed.document, 0);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || ArrayBuffer.isView(doc)) throw new DocumentError('the document is not an object');
  return doc as Record<string, DocValue>;
}
