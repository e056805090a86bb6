import { env } from 'onnxruntime-node';
import type { EdgeEvaluator } from '../types.js';
import { onnxRuntime } from '../../../runtimes/onnx/onnx-runtime.js';

const WASM = 'ort-wasm-simd-threaded.wasm';

/** Point onnxruntime-web at the package's .wasm: a URL in browsers, the bytes in Node (its fetch cannot read file: URLs). */
async function locateWasm(): Promise<void> {
  env.wasm.numThreads = 1;
  const url = new URL(`./${WASM}`, import.meta.url);
  if (url.protocol !== 'file:') {
    env.wasm.wasmPaths = { wasm: url.href };
    return;
  }
  // Reached only under Node (a file: module URL); browsers never evaluate this import.
  const fs = (await import('node:fs/promises')) as { readFile(u: URL): Promise<Uint8Array> };
  env.wasm.wasmBinary = await fs.readFile(url);
}

/**
 * ONNX: the model's bytes, run by the server's own ONNX runtime code on onnxruntime-web's
 * WebAssembly build (the bundler resolves `onnxruntime-node` to `onnxruntime-web/wasm`, whose
 * API is the same). Single-threaded; the .wasm next to index.js is loaded on first use.
 */
export const evaluator: EdgeEvaluator = {
  load: async (data, label) => {
    await locateWasm();
    return onnxRuntime.load(data, {}, label);
  },
};
