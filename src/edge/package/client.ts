/**
 * The browser package's client.js: runs the model in a module Web Worker (worker.js) and
 * gives the page the same `predict(rows, options)` as index.js.
 */
import type { Prediction, PredictOptions } from './index.js';

interface Reply { readonly id: number; readonly predictions?: Prediction[]; readonly error?: { readonly code: string; readonly message: string } }

/** The slice of the DOM's Worker used here (Ferry's TypeScript has no DOM types). */
interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: Reply }) => void): void;
  terminate(): void;
}
type WorkerConstructor = new (url: URL | string, options: { type: 'module' }) => WorkerLike;

export interface PredictWorker {
  predict(rows: readonly Readonly<Record<string, unknown>>[], options?: PredictOptions): Promise<Prediction[]>;
  terminate(): void;
}

/** An Error carrying Ferry's code, as index.js rejects with. */
class EdgeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Start the package's worker (by default worker.js next to this file). */
export function createPredictWorker(url: URL | string = new URL('./worker.js', import.meta.url)): PredictWorker {
  const WorkerClass = (globalThis as unknown as { Worker?: WorkerConstructor }).Worker;
  if (!WorkerClass) throw new EdgeError('FERRY_E_EDGE_CALL_INVALID', 'This call to the exported model is not valid: Web Workers are not available here; import predict from index.js instead.');
  const worker = new WorkerClass(url, { type: 'module' });
  const pending = new Map<number, { resolve: (p: Prediction[]) => void; reject: (e: Error) => void }>();
  let next = 0;
  worker.addEventListener('message', ({ data }) => {
    const call = pending.get(data.id);
    if (!call) return;
    pending.delete(data.id);
    if (data.error) call.reject(new EdgeError(data.error.code, data.error.message));
    else call.resolve(data.predictions ?? []);
  });
  return {
    predict: (rows, options) => new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, rows, options });
    }),
    terminate: () => {
      worker.terminate();
      for (const call of pending.values()) call.reject(new EdgeError('FERRY_E_SHUTTING_DOWN', 'the worker was terminated'));
      pending.clear();
    },
  };
}
