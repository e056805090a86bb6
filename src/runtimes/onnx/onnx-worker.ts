/**
 * Worker-thread entry of the ONNX runtime (run by piscina): one session per thread, so
 * inference — synchronous in onnxruntime-node — never blocks the server's event loop.
 */
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ferry, FerryError } from '../../core/errors.js';
import type { ModelSignature } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import { createSession, runSession, sessionSignature, type SessionOptions } from './onnx-session.js';

interface WorkerData {
  readonly bytes: Uint8Array;
  readonly options: SessionOptions;
  readonly label: string;
}

const { bytes, options, label } = workerData as WorkerData;
const session = await createSession(bytes, options, label);

/** The signature, asked once by the main thread after the pool starts. */
export function describe(): ModelSignature {
  return sessionSignature(session, label);
}

/**
 * Score one batch; output buffers are moved (not copied) back to the main thread. A failure
 * comes back as `{ failed: {code, params} }`: an Error crossing threads loses its code.
 */
export default async function run(task: { inputs: Record<string, Tensor>; outputs: readonly string[] }): Promise<unknown> {
  let out: Record<string, Tensor>;
  const started = performance.now();
  try {
    out = await runSession(session, task.inputs, task.outputs, label);
  } catch (err) {
    const e = err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: 'ONNX', model: label, detail: String(err) });
    return { failed: { code: e.code, params: e.params } };
  }
  const buffers: ArrayBuffer[] = [];
  for (const t of Object.values(out)) {
    if (!Array.isArray(t.data)) buffers.push((t.data as Float32Array).buffer as ArrayBuffer);
  }
  const result = { outputs: out, computeMs: performance.now() - started };
  return move({ [transferableSymbol]: buffers, [valueSymbol]: result });
}
