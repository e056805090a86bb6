import type { ModelRuntime, RuntimeFactory, SniffResult } from '../model-runtime.js';

/**
 * LightGBM text models (what `Booster.save_model` writes), scored natively: trees compiled once
 * into flat typed arrays and evaluated with LightGBM's double-precision decisions. No Python,
 * no native library. The evaluator (lightgbm-loaded.ts) loads with the first model.
 */
export const lightgbmRuntime: RuntimeFactory = {
  format: 'lightgbm',
  title: 'LightGBM',

  sniff(bytes: Uint8Array): SniffResult {
    return sniffLightgbm(bytes) ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, _options, label: string): Promise<ModelRuntime> {
    const { loadLightgbm } = await import('./lightgbm-loaded.js');
    return loadLightgbm(bytes, label);
  },
};

const SNIFF_BYTES = 4096;

/** The first line is `tree`, and a `num_class=` or `Tree=` line follows within the first 4 KB. */
export function sniffLightgbm(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  if (bytes[i] !== 0x74 || bytes[i + 1] !== 0x72 || bytes[i + 2] !== 0x65 || bytes[i + 3] !== 0x65) return false; // "tree"
  const head = new TextDecoder().decode(bytes.subarray(i, i + SNIFF_BYTES));
  return /^tree\r?\n/.test(head) && /^(num_class|Tree)=/m.test(head);
}
