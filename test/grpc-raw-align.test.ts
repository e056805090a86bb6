/** gRPC raw_input_contents are aligned in place within the request's own buffer (no copy), or left for the copy when that is not safe. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignedInPlace } from '../src/serving/grpc/guard.js';
import { inferenceService } from '../src/serving/grpc/grpc-server.js';

const method = inferenceService().ModelInfer!;

function decoded(modelName: string, values: Float32Array): { message: Buffer; raw: Buffer } {
  const bytes = method.requestSerialize({
    model_name: modelName,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [values.length] }],
    raw_input_contents: [Buffer.from(values.buffer, values.byteOffset, values.byteLength)],
  });
  // grpc-js hands the deserializer a view of the framed message (after the 5-byte prefix).
  const framed = Buffer.alloc(bytes.length + 5);
  bytes.copy(framed, 5);
  const message = framed.subarray(5);
  const req = method.requestDeserialize(message) as { raw_input_contents: Buffer[] };
  return { message, raw: req.raw_input_contents[0]! };
}

describe('gRPC raw contents aligned in place', () => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);

  it('every misalignment of a float tensor is moved back over its own field header: a view of the request, same values', () => {
    const shifts = new Set<number>();
    for (const name of ['m', 'mo', 'mod', 'mode']) {
      const { message, raw } = decoded(name, values);
      assert.equal(raw.buffer, message.buffer, 'the decoder gives a view of the message');
      shifts.add(raw.byteOffset % 4);
      const aligned = alignedInPlace(raw, 4);
      assert.equal(aligned.byteOffset % 4, 0);
      assert.equal(aligned.buffer, message.buffer, 'no copy');
      assert.deepEqual(new Float32Array(aligned.buffer, aligned.byteOffset, values.length), values);
    }
    assert.deepEqual([...shifts].sort(), [0, 1, 2, 3], 'the four model names put the contents at every offset mod 4');
  });

  it('bytes that are not preceded by their own field header are left alone (copied later)', () => {
    const buf = Buffer.alloc(4096 + 3);
    buf.fill(0xaa);
    const view = buf.subarray(3, 3 + 4000);
    assert.equal(alignedInPlace(view, 4), view);
    assert.equal(buf[0], 0xaa, 'nothing before the view was written');
  });

  it('an 8-byte type is aligned when its shift fits in its field header, and left alone (bytes untouched) when it does not', () => {
    const seen = new Set<string>();
    for (const name of ['m', 'mo', 'mod', 'mode', 'model', 'model_', 'model_n', 'model_na']) {
      const { message, raw } = decoded(name, values);
      const before = Buffer.from(message);
      const shift = raw.byteOffset % 8;
      const out = alignedInPlace(raw, 8);
      if (shift === 0 || shift > 3) {
        // 4 000 bytes: a 1-byte tag and a 2-byte length, no room to move back further than 3.
        assert.equal(out, raw);
        assert.deepEqual(message, before, 'nothing written');
        seen.add(shift === 0 ? 'aligned already' : 'left alone');
      } else {
        assert.equal(out.byteOffset % 8, 0);
        assert.deepEqual(new Float32Array(out.buffer, out.byteOffset, values.length), values);
        seen.add('moved');
      }
    }
    assert.deepEqual([...seen].sort(), ['aligned already', 'left alone', 'moved'], 'the names cover every case');
  });
});
