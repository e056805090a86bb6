/**
 * What the gRPC server checks before it spends memory on a call: the API key, read from the
 * call's metadata before the message is received (an interceptor; the stream stays paused, so
 * a keyless caller's message is never read or decoded), and the shape of a `ModelInfer`
 * message, counted on the wire before protobufjs builds an object per element.
 */
import * as grpc from '@grpc/grpc-js';
import { ferry, type FerryError } from '../../core/errors.js';
import type { ApiScope } from '../api-key-store.js';
import type { Auth, HasHeaders } from '../auth.js';

/** RPCs that need a key (the server's health and metadata stay open for probes). */
const KEYED: ReadonlySet<string> = new Set(['ModelReady', 'ModelMetadata', 'ModelInfer']);

/**
 * An interceptor that refuses a call on its metadata alone when the key is missing or wrong.
 * `respond` turns the error into the status Ferry answers with (code, message, error code trailer).
 */
export function authInterceptor(auth: Auth, scope: ApiScope, respond: (err: unknown) => Partial<grpc.StatusObject>): grpc.ServerInterceptor {
  return (method, call) => new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMetadata: (metadata, passOn) => {
          const rpc = method.path.slice(method.path.lastIndexOf('/') + 1);
          if (auth.enabled && KEYED.has(rpc)) {
            try {
              auth.check(headersOf(metadata), scope);
            } catch (err) {
              const status = respond(err);
              call.sendStatus({ code: status.code ?? grpc.status.UNAUTHENTICATED, details: status.details ?? '', metadata: status.metadata ?? new grpc.Metadata() });
              return;
            }
          }
          passOn(metadata);
        },
      });
    },
  });
}

/** Call metadata as request headers for Auth (`authorization`, `x-api-key`; binary entries skipped). */
export function headersOf(metadata: grpc.Metadata): HasHeaders {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') headers[key] = value;
  return { headers };
}

/** Bounds on the repeated fields of one `ModelInferRequest`. */
export interface MessageLimits {
  /** Entries of each list: inputs, outputs, raw_input_contents, parameters (request's and each tensor's). */
  readonly maxEntries: number;
  /** Dimensions of one tensor's shape. */
  readonly maxDims: number;
  /** Estimated bytes the decoded typed `contents` would take on the heap. */
  readonly maxDecodedBytes: number;
}

/** A message refused before decoding; the handler answers it with `error`. */
export interface RefusedMessage {
  readonly refused: FerryError;
}

export function isRefused(message: unknown): message is RefusedMessage {
  return typeof message === 'object' && message !== null && 'refused' in message;
}

/**
 * Wrap a method's request deserializer: count the message's repeated fields on the wire first
 * (no allocation per element) and hand the handler a `RefusedMessage` instead of decoding when
 * a bound is passed, or when the bytes do not decode. Returning (rather than throwing) keeps
 * Ferry's message and error code.
 */
export function boundedDeserializer<T>(decode: (bytes: Buffer) => T, limits: MessageLimits, protocol: string): (bytes: Buffer) => T | RefusedMessage {
  return (bytes) => {
    const over = scanInferRequest(bytes, limits);
    if (over) return { refused: ferry('FERRY_E_REQUEST_LIMIT', { protocol, what: over.what, count: over.count, limit: over.limit }) };
    try {
      return decode(bytes);
    } catch (err) {
      // grpc-js answers a throwing deserializer with INTERNAL; malformed bytes are the caller's error.
      return { refused: ferry('FERRY_E_REQUEST_INVALID', { protocol, detail: `the message is not a valid ModelInferRequest (${err instanceof Error ? err.message : String(err)})` }) };
    }
  };
}

interface Over { what: string; count: number; limit: number }

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** Bytes one decoded element of `InferTensorContents` field n takes (numbers in arrays; 64-bit ints as strings). */
const ELEMENT_BYTES: Readonly<Record<number, number>> = { 1: 8, 2: 8, 3: 48, 4: 8, 5: 48, 6: 8, 7: 8, 8: 96 };

/**
 * Walk a serialized `ModelInferRequest` (fields 4 parameters, 5 inputs, 6 outputs, 7 raw
 * contents) and each input (3 shape, 4 parameters, 5 contents). Malformed wire data is left
 * to the real decoder, which refuses it.
 */
export function scanInferRequest(buf: Uint8Array, limits: MessageLimits): Over | undefined {
  const counts = new Map<number, number>();
  let decoded = 0;
  const over = walk(buf, 0, buf.length, (field, wire, start, end) => {
    if (field < 4 || field > 7) return undefined;
    const n = (counts.get(field) ?? 0) + 1;
    counts.set(field, n);
    if (n > limits.maxEntries) return { what: `${FIELD_NAMES[field] ?? field} entries`, count: n, limit: limits.maxEntries };
    if (field !== 5 || wire !== LEN) return undefined;
    const input = scanInput(buf, start, end, limits);
    if ('what' in input) return input;
    decoded += input.decoded;
    if (decoded > limits.maxDecodedBytes) return { what: 'typed contents (bytes once decoded; send large tensors as raw_input_contents)', count: decoded, limit: limits.maxDecodedBytes };
    return undefined;
  });
  return over;
}

const FIELD_NAMES: Readonly<Record<number, string>> = { 4: 'parameters', 5: 'inputs', 6: 'outputs', 7: 'raw_input_contents' };

function scanInput(buf: Uint8Array, from: number, to: number, limits: MessageLimits): Over | { decoded: number } {
  let dims = 0;
  let params = 0;
  let decoded = 0;
  const over = walk(buf, from, to, (field, wire, start, end) => {
    if (field === 3) {
      dims += wire === LEN ? end - start : 1; // packed varints: at most one per byte
      if (dims > limits.maxDims) return { what: 'shape dimensions of one input', count: dims, limit: limits.maxDims };
    } else if (field === 4) {
      if (++params > limits.maxEntries) return { what: 'parameters of one input', count: params, limit: limits.maxEntries };
    } else if (field === 5 && wire === LEN) {
      walk(buf, start, end, (f, w, s, e) => {
        const per = ELEMENT_BYTES[f];
        if (per === undefined) return undefined;
        // Packed numbers: at most one element per byte (fixed widths: exactly len/4 or len/8).
        const elements = w !== LEN || f === 8 ? 1 : f === 6 ? (e - s) / 4 : f === 7 ? (e - s) / 8 : e - s;
        decoded += elements * per + (f === 8 ? e - s : 0);
        return undefined;
      });
    }
    return undefined;
  });
  return over ?? { decoded };
}

/** The wire tag of ModelInferRequest's `raw_input_contents` (field 7, length-delimited). */
const RAW_CONTENTS_TAG = (7 << 3) | LEN;

/**
 * A raw input's bytes moved back within the request's own buffer to where they are aligned for
 * their element type, when the bytes just before them are their own field header (tag and length,
 * already decoded): a large tensor is then a view of the request (oip-codec's `tensorFromBytes`)
 * instead of a fresh copy — one large allocation outside the JS heap less per request, which is
 * what forces young-generation collections under large-tensor load. Anything else (no room, a
 * view that is not of the message) is returned as it is and copied by `tensorFromBytes`.
 */
export function alignedInPlace(bytes: Uint8Array, size: number): Uint8Array {
  const offset = bytes.byteOffset;
  const shift = offset % size;
  if (!(shift > 0) || bytes.byteLength < 64) return bytes;
  let header = 2; // the tag and at least one length byte
  for (let n = bytes.byteLength; n >= 0x80; n = Math.floor(n / 0x80)) header++;
  if (shift > header || offset < header) return bytes;
  const whole = new Uint8Array(bytes.buffer);
  const length = varint(whole, offset - header + 1, offset);
  if (whole[offset - header] !== RAW_CONTENTS_TAG || length?.value !== bytes.byteLength || length.next !== offset) return bytes;
  whole.copyWithin(offset - shift, offset, offset + bytes.byteLength);
  return whole.subarray(offset - shift, offset - shift + bytes.byteLength);
}

/** Visit each field of a message in [from, to); stop when `visit` returns a reason. */
function walk(buf: Uint8Array, from: number, to: number, visit: (field: number, wire: number, start: number, end: number) => Over | undefined): Over | undefined {
  let pos = from;
  while (pos < to) {
    const tag = varint(buf, pos, to);
    if (!tag) return undefined;
    pos = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    let start = pos;
    let end: number;
    if (wire === VARINT) {
      const v = varint(buf, pos, to);
      if (!v) return undefined;
      end = v.next;
    } else if (wire === I64) {
      end = pos + 8;
    } else if (wire === I32) {
      end = pos + 4;
    } else if (wire === LEN) {
      const len = varint(buf, pos, to);
      if (!len) return undefined;
      start = len.next;
      end = start + len.value;
    } else {
      return undefined; // groups or garbage: the decoder refuses it
    }
    if (end > to) return undefined;
    const reason = visit(field, wire, start, end);
    if (reason) return reason;
    pos = end;
  }
  return undefined;
}

/** A base-128 varint of up to 10 bytes (values past 2^53 lose precision; only lengths need it exact). */
function varint(buf: Uint8Array, pos: number, to: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos < to; i++) {
    const b = buf[pos++] ?? 0;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, next: pos };
    scale *= 128;
  }
  return undefined;
}
