/**
 * Worker-thread entry for any model format (run by piscina): the thread loads the model with
 * the format's own runtime, on its own thread, so inference — synchronous in onnxruntime-node
 * and in the native evaluators — never blocks the server's event loop.
 */
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ferry, FerryError } from '../core/errors.js';
import type { ModelSignature } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';
import { loadArtifact } from './artifact-error.js';
import { RuntimeCatalog } from './catalog.js';
import type { ModelRuntime, RuntimeOptions } from './model-runtime.js';

interface WorkerData {
  readonly format: string;
  readonly bytes: Uint8Array;
  readonly options: RuntimeOptions;
  readonly label: string;
}

/** How a failure crosses the thread boundary: an Error would lose its code and params. */
type Failed = { failed: { code: FerryError['code']; params: FerryError['params'] } };

function failed(err: unknown, fallback: () => FerryError): Failed {
  const e = err instanceof FerryError ? err : fallback();
  return { failed: { code: e.code, params: e.params } };
}

const { format, bytes, options, label } = workerData as WorkerData;
// Loading never throws out of the module: a model that does not load is reported by describe().
const loading: Promise<ModelRuntime | Failed> = loadArtifact(new RuntimeCatalog().get(format), bytes, { ...options, workers: 0 }, label)
  .catch((err: unknown) => failed(err, () => ferry('FERRY_E_INTERNAL', { detail: String(err) })));

/** The signature (or why the model did not load), asked once by the main thread after the pool starts. */
export async function describe(): Promise<{ signature: ModelSignature } | Failed> {
  const runtime = await loading;
  return 'failed' in runtime ? runtime : { signature: runtime.signature() };
}

/**
 * Score one batch; output buffers are moved (not copied) back to the main thread. A failure
 * comes back as `{ failed: {code, params} }`: an Error crossing threads loses its code.
 */
export default async function run(task: { inputs: Record<string, Tensor>; outputs: readonly string[] }): Promise<unknown> {
  const runtime = await loading;
  if ('failed' in runtime) return runtime;
  let out: Record<string, Tensor>;
  const started = performance.now();
  try {
    out = await runtime.predict(task.inputs, task.outputs);
  } catch (err) {
    return failed(err, () => ferry('FERRY_E_PREDICTION_FAILED', { format, model: label, detail: String(err) }));
  }
  // Each buffer once, and never shared memory (an output that is a view of a shared input): a
  // transfer list refuses both, and shared memory crosses without a copy anyway.
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(out)) {
    const buffer = Array.isArray(t.data) ? undefined : (t.data as Float32Array).buffer;
    if (buffer instanceof ArrayBuffer) buffers.add(buffer);
  }
  const result = { outputs: out, computeMs: performance.now() - started };
  return move({ [transferableSymbol]: [...buffers], [valueSymbol]: result });
}
