/**
 * joblib's container: a pickle in which each numpy array is a `NumpyArrayWrapper` record
 * followed, right after the wrapper's BUILD, by the array's raw bytes (object arrays: a nested
 * pickle, read by the same restricted unpickler). The whole file may be compressed: zlib and
 * gzip (Node's zlib), bz2 (seek-bzip) and xz (xz-decompress, WebAssembly, read with
 * `decompressAsync` first) and lzma (the legacy "alone" format, lzma.ts) are read; lz4 is refused with advice.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import Bunzip from 'seek-bzip';
import xz from 'xz-decompress';
import { compressionOf, type Compression } from './compression.js';
import { decodeLzmaAlone } from './lzma.js';
import { decodeArray } from './numpy.js';
import { DEFAULT_LIMITS, PickleReader, unpickle, type GlobalListener, type PickleLimits } from './unpickler.js';
import { NdArray, NpDtype, PickleError, PickleLimitExceeded, itemsOf, type PyObject, type PyValue } from './values.js';

/** How the file was stored. */
export type { Compression } from './compression.js';

export interface LoadedPickle {
  readonly value: PyValue;
  readonly compression: Compression;
  /** Whether joblib's array wrappers were found (a joblib.dump file rather than a plain pickle). */
  readonly joblib: boolean;
  /** Bytes after decompression. */
  readonly size: number;
}

export interface LoadOptions {
  readonly limits?: PickleLimits;
  /** Largest decompressed size in bytes. */
  readonly maxBytes?: number;
  readonly onGlobal?: GlobalListener;
  /** Inspection: record refused globals instead of stopping (nothing is called either way). */
  readonly inspect?: boolean;
  /** The stream already decompressed by `decompressAsync` (xz needs it). */
  readonly decompressed?: { readonly data: Uint8Array; readonly compression: Compression };
}

export const DEFAULT_MAX_BYTES = 2 ** 31 - 1;

/** The decompressed pickle stream, never larger than `maxBytes`. */
export function decompress(bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES): { data: Uint8Array; compression: Compression } {
  const kind = compressionOf(bytes) ?? 'none';
  const tooBig = (): PickleLimitExceeded => new PickleLimitExceeded('decompressed size', `the file decompresses to more than ${maxBytes} bytes`);
  switch (kind) {
    case 'none':
      if (bytes.length > maxBytes) throw tooBig();
      return { data: bytes, compression: 'none' };
    case 'zlib':
    case 'gzip':
      try {
        const data = kind === 'zlib' ? inflateSync(bytes, { maxOutputLength: maxBytes }) : gunzipSync(bytes, { maxOutputLength: maxBytes });
        return { data, compression: kind };
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig();
        throw new PickleError(`the ${kind} stream is damaged (${(err as Error).message})`);
      }
    case 'bz2':
      return { data: bunzip(bytes, maxBytes, tooBig), compression: 'bz2' };
    case 'xz':
      throw new PickleError('an xz stream is read by decompressAsync, before the unpickler');
    case 'lzma':
      return { data: decodeLzmaAlone(bytes, maxBytes), compression: 'lzma' };
    case 'lz4':
      throw new PickleError(
        `the file is ${kind}-compressed (joblib.dump with compress="${kind}"), which Ferry does not decompress: no maintained pure-JavaScript ${kind} decoder fits. ` +
        'Re-save it with joblib.dump(model, path, compress=3) (zlib), compress=("gzip", 3), compress=("bz2", 3) or without compression.',
      );
  }
}

/**
 * `decompress`, and xz too: xz-decompress's stream is read chunk by chunk, and stops (a limit
 * error) as soon as the output would pass `maxBytes`, before that memory is taken.
 */
export async function decompressAsync(bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES): Promise<{ data: Uint8Array; compression: Compression }> {
  if (compressionOf(bytes) !== 'xz') return decompress(bytes, maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const reader = new xz.XzReadableStream(new Blob([bytes]).stream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw new PickleLimitExceeded('decompressed size', `the file decompresses to more than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof PickleLimitExceeded) throw err;
    throw new PickleError(`the xz stream is damaged (${err instanceof Error ? err.message : String(err)})`);
  }
  const data = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { data, compression: 'xz' };
}

/** bz2 through seek-bzip with an output that refuses to grow past `maxBytes`. */
function bunzip(bytes: Uint8Array, maxBytes: number, tooBig: () => Error): Uint8Array {
  let buf = new Uint8Array(Math.min(maxBytes, Math.max(1 << 16, bytes.length * 4)));
  let pos = 0;
  const output = {
    writeByte(b: number): void {
      if (pos >= buf.length) {
        if (buf.length >= maxBytes) throw tooBig();
        const bigger = new Uint8Array(Math.min(maxBytes, buf.length * 2));
        bigger.set(buf);
        buf = bigger;
      }
      buf[pos++] = b;
    },
  };
  try {
    Bunzip.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), output, true);
  } catch (err) {
    if (err instanceof PickleLimitExceeded) throw err;
    throw new PickleError(`the bz2 stream is damaged (${String((err as Error).message ?? err)})`);
  }
  return buf.subarray(0, pos);
}

/** Read a pickle or joblib file (compressed or not) into inert values. */
export function loadPickle(bytes: Uint8Array, options: LoadOptions = {}): LoadedPickle {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const { data, compression } = options.decompressed ?? decompress(bytes, options.maxBytes ?? DEFAULT_MAX_BYTES);
  let joblib = false;
  const reader = new PickleReader(data);
  const value = unpickle(reader, {
    limits,
    ...(options.onGlobal ? { onGlobal: options.onGlobal } : {}),
    ...(options.inspect ? { inspect: true } : {}),
    onBuild: (obj, state, r, depth) => {
      if (obj.cls.name !== 'NumpyArrayWrapper') return undefined;
      joblib = true;
      return readWrappedArray(obj, state, r, limits, depth, options);
    },
  });
  return { value, compression, joblib, size: data.length };
}

/** NumpyArrayWrapper.read_array: the array's bytes (after optional alignment padding) follow the wrapper. */
function readWrappedArray(obj: PyObject, state: PyValue, reader: PickleReader, limits: PickleLimits, depth: number, options: LoadOptions): NdArray {
  if (!(state instanceof Map)) throw new PickleError('a joblib array wrapper has no state');
  const dtype = state.get('dtype');
  const order = state.get('order');
  const shape = (itemsOf(state.get('shape') ?? null) ?? []).map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : -1));
  if (!(dtype instanceof NpDtype) || shape.some((d) => d < 0)) throw new PickleError(`the joblib array wrapper ${obj.cls.qualname} is malformed`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > limits.maxArrayElements) throw new PickleLimitExceeded('array elements', `an array of shape [${shape.join(', ')}] has more elements than the limit of ${limits.maxArrayElements}`);
  if (dtype.kind === 'O') {
    // Object arrays (feature_names_in_, string categories) are a nested pickle in the same stream.
    const nested = unpickle(reader, { limits, onBuild: (o, s, r, d) => (o.cls.name === 'NumpyArrayWrapper' ? readWrappedArray(o, s, r, limits, d, options) : undefined), ...(options.onGlobal ? { onGlobal: options.onGlobal } : {}), ...(options.inspect ? { inspect: true } : {}) }, depth + 1);
    if (!(nested instanceof NdArray)) throw new PickleError('a joblib object array is not an array');
    return nested;
  }
  if (state.has('numpy_array_alignment_bytes') && state.get('numpy_array_alignment_bytes') !== null) {
    const padding = reader.u8();
    reader.take(padding, 'alignment padding');
  }
  const raw = reader.take(count * dtype.itemsize, 'array data');
  return new NdArray(dtype, shape, decodeArray(raw, dtype, shape, order === 'F', limits));
}
