/**
 * The browser package's worker.js: a module Web Worker that scores rows with the package, so a
 * page stays responsive. Messages: `{ id, rows, options }` in, `{ id, predictions }` or
 * `{ id, error: { code, message } }` out. Start it with client.js.
 */
import { predict, preload, type PredictOptions } from './index.js';

interface Request { readonly id: number; readonly rows: readonly Readonly<Record<string, unknown>>[]; readonly options?: PredictOptions }

/** The slice of a worker's global scope used here (Ferry's TypeScript has no DOM types). */
interface WorkerScope {
  addEventListener(type: 'message', listener: (event: { readonly data: Request }) => void): void;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;

// Load the model as soon as the worker starts, while the page goes on; a failure shows in the first predict's answer.
preload().catch(() => undefined);

scope.addEventListener('message', (event) => {
  const { id, rows, options } = event.data;
  predict(rows, options).then(
    (predictions) => scope.postMessage({ id, predictions }),
    (err: unknown) => {
      const e = err as { code?: unknown; message?: unknown };
      scope.postMessage({ id, error: { code: typeof e.code === 'string' ? e.code : 'FERRY_E_INTERNAL', message: typeof e.message === 'string' ? e.message : String(err) } });
    },
  );
});
