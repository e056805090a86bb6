import * as ort from 'onnxruntime-node';
import { isDType, type DType } from '../../core/dtype.js';
import { ferry } from '../../core/errors.js';
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions, SniffResult } from '../model-runtime.js';

/** ONNX models through onnxruntime-node (CPU). */
export const onnxRuntime: RuntimeFactory = {
  format: 'onnx',

  sniff(bytes: Uint8Array): SniffResult {
    // A serialized ModelProto starts with field 1 (ir_version, varint): tag 0x08, then a small version.
    const ir = bytes[1] ?? 0;
    return bytes[0] === 0x08 && ir >= 1 && ir <= 15 ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
        ...(options.interOpThreads ? { interOpNumThreads: options.interOpThreads } : {}),
        // Spinning threads take the CPU the event loop needs on a small machine (measured in bench:serve).
        extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' }, inter_op: { allow_spinning: options.spinning ? '1' : '0' } } },
      });
    } catch (err) {
      throw ferry('FERRY_E_ARTIFACT_INVALID', { path: label, format: 'ONNX', detail: cleanOrtMessage(err) }, err);
    }
    try {
      return new OnnxModel(session, label);
    } catch (err) {
      await session.release();
      throw err;
    }
  },
};

class OnnxModel implements ModelRuntime {
  readonly format = 'onnx';
  readonly #session: ort.InferenceSession;
  readonly #signature: ModelSignature;
  readonly #label: string;

  constructor(session: ort.InferenceSession, label: string) {
    this.#session = session;
    this.#label = label;
    const inputs = session.inputMetadata.map((m) => toSpec(m, 'input', label));
    const outputs = session.outputMetadata.filter((m) => m.isTensor).map((m) => toSpec(m, 'output', label));
    const nonTensor = session.outputMetadata.find((m) => !m.isTensor);
    if (outputs.length === 0 && nonTensor) {
      throw ferry('FERRY_E_MODEL_OUTPUT_UNSUPPORTED', { output: nonTensor.name, detail: 'a sequence or map' });
    }
    this.#signature = { inputs, outputs };
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  async predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      feeds[name] = new ort.Tensor(t.dtype, t.data, [...t.shape]);
    }
    const fetches = [...(outputs ?? this.#signature.outputs.map((o) => o.name))];
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.#session.run(feeds, fetches);
    } catch (err) {
      throw ferry('FERRY_E_PREDICTION_FAILED', { format: 'ONNX', model: this.#label, detail: cleanOrtMessage(err) }, err);
    }
    const out: Record<string, Tensor> = {};
    for (const name of fetches) {
      const t = result[name];
      if (!t) continue;
      out[name] = { dtype: t.type as DType, shape: t.dims.map(Number), data: t.data };
      t.dispose();
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}

function toSpec(meta: ort.InferenceSession.ValueMetadata, role: 'input' | 'output', label: string): TensorSpec {
  if (!meta.isTensor) {
    throw ferry('FERRY_E_ARTIFACT_INVALID', { path: label, format: 'ONNX', detail: `${role} "${meta.name}" is not a tensor; Ferry feeds tensor inputs only` });
  }
  if (!isDType(meta.type)) {
    throw ferry('FERRY_E_ARTIFACT_INVALID', { path: label, format: 'ONNX', detail: `${role} "${meta.name}" has element type ${meta.type}, which Ferry does not support` });
  }
  // Symbolic dimensions ("batch", "N") are free axes.
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return { name: meta.name, dtype: meta.type, shape };
}

/** onnxruntime's messages carry a C++ source location prefix people do not need. */
function cleanOrtMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^\[[^\]]*\]\s*/, '').replace(/\s+/g, ' ').trim();
}
