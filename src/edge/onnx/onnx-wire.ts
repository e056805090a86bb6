/**
 * ONNX protobuf at the wire level: a message is read as a list of fields, each kept as its
 * exact bytes, and only the fields the quantizer changes are decoded. Writing a message back
 * copies every other field verbatim, so nothing this code does not know about (metadata,
 * value infos, functions, fields of later ONNX versions) is lost. protobufjs's Reader and
 * Writer do the varint and length-prefix encoding; the field numbers are onnx.proto's.
 */
import protobuf from 'protobufjs/minimal.js';

const { Reader, Writer } = protobuf;

/** One field of a message: its number, wire type, exact bytes (tag included), and payload when length-delimited. */
export interface WireField {
  readonly field: number;
  readonly wireType: number;
  readonly raw: Uint8Array;
  readonly payload?: Uint8Array;
}

const LENGTH_DELIMITED = 2;

/** The fields of one message, in order. */
export function readFields(bytes: Uint8Array): WireField[] {
  const r = Reader.create(bytes);
  const fields: WireField[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    let payload: Uint8Array | undefined;
    if (wireType === LENGTH_DELIMITED) payload = r.bytes();
    else r.skipType(wireType);
    fields.push({ field, wireType, raw: bytes.subarray(start, r.pos), ...(payload ? { payload } : {}) });
  }
  return fields;
}

/** Concatenate encoded fields into one message. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A length-delimited field (a string, bytes or a nested message). */
export function lengthField(field: number, payload: Uint8Array | string): Uint8Array {
  const w = Writer.create().uint32((field << 3) | LENGTH_DELIMITED);
  return (typeof payload === 'string' ? w.string(payload) : w.bytes(payload)).finish();
}

/** A varint field (int32, int64, enum). */
export function varintField(field: number, value: number): Uint8Array {
  return Writer.create().uint32(field << 3).int64(value).finish();
}

const text = new TextDecoder();

export const str = (f: WireField): string => text.decode(f.payload ?? new Uint8Array());

/** A varint field's value (int64 read as a JavaScript number: dims and attribute values fit). */
export function varint(f: WireField): number {
  const r = Reader.create(f.raw);
  r.uint32();
  return Number(r.int64());
}

/** The values of a repeated int64 field, packed or not (e.g. TensorProto.dims). */
export function int64s(fields: readonly WireField[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.payload) {
      const r = Reader.create(f.payload);
      while (r.pos < r.len) out.push(Number(r.int64()));
    } else {
      out.push(varint(f));
    }
  }
  return out;
}

/** The values of a repeated float field, packed or not (TensorProto.float_data). */
export function floats(fields: readonly WireField[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    const r = Reader.create(f.payload ?? f.raw.subarray(f.raw.length - 4));
    while (r.pos < r.len) out.push(r.float());
  }
  return out;
}
