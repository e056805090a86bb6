/** A minimal protobuf writer: enough to build ONNX files and Open Inference Protocol messages byte by byte in tests and fuzzers. */
export class ProtoWriter {
  readonly #parts: Buffer[] = [];

  varint(field: number, value: number | bigint): this {
    this.#parts.push(Buffer.from([...encodeVarint(BigInt(field) << 3n), ...encodeVarint(BigInt.asUintN(64, BigInt(value)))]));
    return this;
  }

  bytes(field: number, value: Uint8Array | string): this {
    const data = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
    this.#parts.push(Buffer.from([...encodeVarint((BigInt(field) << 3n) | 2n), ...encodeVarint(BigInt(data.length))]), data);
    return this;
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated field of varints. */
  packed(field: number, values: readonly (number | bigint)[]): this {
    return this.bytes(field, Buffer.from(values.flatMap((v) => encodeVarint(BigInt.asUintN(64, BigInt(v))))));
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

function encodeVarint(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

