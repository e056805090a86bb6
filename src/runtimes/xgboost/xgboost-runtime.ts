import type { ModelRuntime, RuntimeFactory, SniffResult } from '../model-runtime.js';
import { sniffJson, sniffUbjson } from './xgboost-sniff.js';

/**
 * XGBoost models saved by `save_model` (JSON or UBJSON), scored natively: the trees are
 * compiled once into flat typed arrays and evaluated with xgboost 1.7's float32 arithmetic.
 * No Python, no native library. Runs on the calling thread (tree ensembles are cheap). The
 * evaluator (xgboost-loaded.ts) loads with the first model, not with the catalog.
 */
export const xgboostRuntime: RuntimeFactory = {
  format: 'xgboost',
  title: 'XGBoost',

  sniff(bytes: Uint8Array): SniffResult {
    return sniffJson(bytes) || sniffUbjson(bytes) ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, _options, label: string): Promise<ModelRuntime> {
    const { loadXgboost } = await import('./xgboost-loaded.js');
    return loadXgboost(bytes, label);
  },
};
