/**
 * scikit-learn models from pickle and joblib files, loaded without Python and without running
 * anything the file names. Registration translates the pickle (restricted unpickler → inert
 * records → Ferry's model document); the document is what is stored and loaded afterwards.
 */
import { constants, gunzipSync, inflateSync } from 'node:zlib';
import type { ModelRuntime, RuntimeFactory, SniffResult, Translation } from '../model-runtime.js';
import { isPickle } from '../unsafe-formats.js';
import { isDocument } from './document.js';
import { compressionOf } from './pickle/compression.js';

/** The unpickler, translator and evaluator (sklearn-loaded.ts) load with the first model, not with the catalog. */
export const sklearnRuntime: RuntimeFactory = {
  format: 'sklearn',
  title: 'scikit-learn',

  sniff(bytes: Uint8Array): SniffResult {
    return isDocument(bytes) || looksLikePickle(bytes) ? 'yes' : 'no';
  },

  async translate(bytes: Uint8Array): Promise<Translation | undefined> {
    if (isDocument(bytes)) return undefined;
    const { translateFile } = await import('./sklearn-loaded.js');
    return translateFile(bytes);
  },

  async load(bytes: Uint8Array, _options, label: string): Promise<ModelRuntime> {
    const { loadSklearn } = await import('./sklearn-loaded.js');
    return loadSklearn(bytes, label);
  },
};

/** How many compressed bytes sniffing inflates: at most ~1 MB out (deflate expands 1032:1 at most). */
const SNIFF_COMPRESSED = 1024;

/** A pickle or joblib file (compressed or not), judged by its first bytes. */
export function looksLikePickle(bytes: Uint8Array): boolean {
  const c = compressionOf(bytes);
  if (c === undefined) return isPickle(bytes);
  if (c !== 'zlib' && c !== 'gzip') return true;
  try {
    // zlib and gzip are also other things: look at the first decompressed bytes (of a stream cut short).
    const head = bytes.subarray(0, SNIFF_COMPRESSED);
    const options = { finishFlush: constants.Z_SYNC_FLUSH };
    return isPickle(c === 'zlib' ? inflateSync(head, options) : gunzipSync(head, options));
  } catch {
    return false;
  }
}
