/**
 * Writes small ONNX files by hand (no Python at test time): an MLP whose hidden width sets the
 * file size, for tests that need a large model without keeping one in the repository.
 */
import { mulberry32 } from '../../src/core/random.js';
import { ProtoWriter } from './proto-writer.js';

const FLOAT = 1;

/**
 * `input` float32 [N, inputs] → MatMul W1 [inputs, hidden] → Relu → MatMul W2 [hidden, 2] →
 * `scores` float32 [N, 2]. Weights are seeded, so two seeds give two different artifacts.
 * The file is about (inputs + 2) × hidden × 4 bytes.
 */
export function mlpOnnx(options: { inputs: number; hidden: number; seed: number }): Buffer {
  const { inputs, hidden, seed } = options;
  const rng = mulberry32(seed);
  const weights = (n: number, scale: number) => {
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = (rng() - 0.5) * scale;
    return Buffer.from(w.buffer);
  };
  const tensor = (name: string, dims: number[], raw: Buffer) => (t: ProtoWriter) => {
    for (const d of dims) t.varint(1, d);
    t.varint(2, FLOAT).bytes(8, name).bytes(9, raw);
  };
  const valueInfo = (name: string, width: number) => (v: ProtoWriter) => {
    v.bytes(1, name).message(2, (type) => type.message(1, (tt) => {
      tt.varint(1, FLOAT).message(2, (shape) => {
        shape.message(1, (d) => d.bytes(2, 'N'));
        shape.message(1, (d) => d.varint(1, width));
      });
    }));
  };
  const node = (op: string, ins: string[], out: string) => (n: ProtoWriter) => {
    for (const i of ins) n.bytes(1, i);
    n.bytes(2, out).bytes(3, `${op}_${out}`).bytes(4, op);
  };
  return new ProtoWriter()
    .varint(1, 8) // ir_version
    .bytes(2, 'ferry-test')
    .message(7, (g) => {
      g.message(1, node('MatMul', ['input', 'W1'], 'h'));
      g.message(1, node('Relu', ['h'], 'a'));
      g.message(1, node('MatMul', ['a', 'W2'], 'scores'));
      g.bytes(2, 'mlp');
      g.message(5, tensor('W1', [inputs, hidden], weights(inputs * hidden, 0.2)));
      g.message(5, tensor('W2', [hidden, 2], weights(hidden * 2, 0.02)));
      g.message(11, valueInfo('input', inputs));
      g.message(12, valueInfo('scores', 2));
    })
    .message(8, (o) => o.bytes(1, '').varint(2, 13)) // opset 13
    .finish();
}
