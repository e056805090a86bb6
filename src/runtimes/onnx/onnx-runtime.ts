import type * as ort from 'onnxruntime-node';
import type { ModelSignature } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions, SniffResult } from '../model-runtime.js';

/**
 * ONNX models through onnxruntime-node (CPU), on the calling thread. (The server runs models in
 * worker threads through `threaded.ts`, which loads this same runtime inside each thread.)
 */
export const onnxRuntime: RuntimeFactory = {
  format: 'onnx',
  title: 'ONNX',

  sniff(bytes: Uint8Array): SniffResult {
    // A serialized ModelProto starts with field 1 (ir_version, varint): tag 0x08, then a small version.
    const ir = bytes[1] ?? 0;
    return bytes[0] === 0x08 && ir >= 1 && ir <= 15 ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
    // onnxruntime (and its native library) loads with the first ONNX model, not with the catalog.
    const { createSession, runSession, sessionOptions, sessionSignature } = await import('./onnx-session.js');
    const session = await createSession(bytes, sessionOptions(options));
    try {
      return new OnnxModel(session, sessionSignature(session), label, runSession);
    } catch (err) {
      await session.release();
      throw err;
    }
  },
};

type RunSession = typeof import('./onnx-session.js').runSession;

/** A session on the calling thread. */
class OnnxModel implements ModelRuntime {
  readonly format = 'onnx';
  readonly #session: ort.InferenceSession;
  readonly #signature: ModelSignature;
  readonly #label: string;
  readonly #run: RunSession;

  constructor(session: ort.InferenceSession, signature: ModelSignature, label: string, run: RunSession) {
    this.#session = session;
    this.#signature = signature;
    this.#label = label;
    this.#run = run;
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return this.#run(this.#session, inputs, outputs ?? this.#signature.outputs.map((o) => o.name), this.#label);
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
