import * as ort from 'onnxruntime-node';
import { isDType, type DType } from '../../core/dtype.js';
import { ferry } from '../../core/errors.js';
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import { ArtifactError } from '../artifact-error.js';
import type { RuntimeOptions } from '../model-runtime.js';

/**
 * onnxruntime-node sessions, shared by the in-process model and the worker-thread model:
 * create, read the signature from the graph, run with Ferry tensors.
 */

/** The options of the session Ferry creates (the same on every thread). */
export interface SessionOptions {
  readonly intraOpThreads?: number | undefined;
  readonly interOpThreads?: number | undefined;
  readonly spinning?: boolean | undefined;
}

export function sessionOptions(options: RuntimeOptions): SessionOptions {
  return { intraOpThreads: options.intraOpThreads, interOpThreads: options.interOpThreads, spinning: options.spinning };
}

export async function createSession(bytes: Uint8Array, options: SessionOptions): Promise<ort.InferenceSession> {
  const spin = options.spinning ? '1' : '0';
  try {
    return await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
      ...(options.interOpThreads ? { interOpNumThreads: options.interOpThreads } : {}),
      // Spinning threads take the CPU the event loop needs on a small machine (measured in bench:serve).
      extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
    });
  } catch (err) {
    throw new ArtifactError(cleanOrtMessage(err), 'FERRY_E_ARTIFACT_INVALID', {}, { cause: err });
  }
}

/** Inputs and tensor outputs as the graph declares them (non-tensor outputs are left out). */
export function sessionSignature(session: ort.InferenceSession): ModelSignature {
  const inputs = session.inputMetadata.map((m) => toSpec(m, 'input'));
  const outputs = session.outputMetadata.filter((m) => m.isTensor).map((m) => toSpec(m, 'output'));
  const nonTensor = session.outputMetadata.find((m) => !m.isTensor);
  if (outputs.length === 0 && nonTensor) {
    throw ferry('FERRY_E_MODEL_OUTPUT_UNSUPPORTED', { output: nonTensor.name, detail: 'a sequence or map' });
  }
  return { inputs, outputs };
}

/** Run one batch. Note: onnxruntime-node's run is synchronous on the calling thread. */
export async function runSession(session: ort.InferenceSession, inputs: Readonly<Record<string, Tensor>>, fetches: readonly string[], label: string): Promise<Record<string, Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    feeds[name] = new ort.Tensor(t.dtype, unshared(t.data), [...t.shape]);
  }
  let result: ort.InferenceSession.ReturnType;
  try {
    result = await session.run(feeds, [...fetches]);
  } catch (err) {
    throw ferry('FERRY_E_PREDICTION_FAILED', { format: 'ONNX', model: label, detail: cleanOrtMessage(err) }, err);
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

/**
 * Tensor data in memory of its own: onnxruntime-node takes a tensor's bytes through N-API, which
 * refuses a SharedArrayBuffer (`session.run` rejects with "Invalid argument"). Large binary
 * request bodies are shared memory (serving/http/body-reader.ts), so their tensors are copied
 * here — in a worker thread, on the thread that runs the model, off the event loop.
 */
function unshared(data: Tensor['data']): Tensor['data'] {
  return !Array.isArray(data) && SHARED !== undefined && (data as Float32Array).buffer instanceof SHARED ? (data as Float32Array).slice() : data;
}

/**
 * The SharedArrayBuffer constructor where there is one: this module is also bundled into browser
 * edge packages, and a page that is not cross-origin isolated has no SharedArrayBuffer at all.
 */
const SHARED: typeof SharedArrayBuffer | undefined = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : undefined;

function toSpec(meta: ort.InferenceSession.ValueMetadata, role: 'input' | 'output'): TensorSpec {
  if (!meta.isTensor) {
    throw new ArtifactError(`${role} "${meta.name}" is not a tensor; Ferry feeds tensor inputs only`);
  }
  if (!isDType(meta.type)) {
    throw new ArtifactError(`${role} "${meta.name}" has element type ${meta.type}, which Ferry does not support`);
  }
  // Symbolic dimensions ("batch", "N") are free axes.
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return { name: meta.name, dtype: meta.type, shape };
}

/** onnxruntime's messages carry a C++ source location prefix people do not need. */
export function cleanOrtMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^\[[^\]]*\]\s*/, '').replace(/\s+/g, ' ').trim();
}
