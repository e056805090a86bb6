import type * as ort from 'onnxruntime-node';
import type { ModelSignature } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions, SniffResult } from '../model-runtime.js';
import { createSession, runSession, sessionOptions, sessionSignature } from './onnx-session.js';

/**
 * ONNX models through onnxruntime-node (CPU), on the calling thread. (The server runs models in
 * worker threads through `threaded.ts`, which loads this same runtime inside each thread.)
 */
export const onnxRuntime: RuntimeFactory = {
  format: 'onnx',

  sniff(bytes: Uint8Array): SniffResult {
    // A serialized ModelProto starts with field 1 (ir_version, varint): tag 0x08, then a small version.
    const ir = bytes[1] ?? 0;
    return bytes[0] === 0x08 && ir >= 1 && ir <= 15 ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
    const session = await createSession(bytes, sessionOptions(options), label);
    try {
      return new OnnxModel(session, sessionSignature(session, label), label);
    } catch (err) {
      await session.release();
      throw err;
    }
  },
};

/** A session on the calling thread. */
class OnnxModel implements ModelRuntime {
  readonly format = 'onnx';
  readonly #session: ort.InferenceSession;
  readonly #signature: ModelSignature;
  readonly #label: string;

  constructor(session: ort.InferenceSession, signature: ModelSignature, label: string) {
    this.#session = session;
    this.#signature = signature;
    this.#label = label;
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return runSession(this.#session, inputs, outputs ?? this.#signature.outputs.map((o) => o.name), this.#label);
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
