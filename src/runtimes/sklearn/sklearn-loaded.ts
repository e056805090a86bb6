import { createHash } from 'node:crypto';
import type { ModelRuntime, Translation } from '../model-runtime.js';
import { compileDocument } from './compile.js';
import { translate } from './convert/translate.js';
import { decodeDocument, encodeDocument, isDocument } from './document.js';
import { SklearnModel } from './sklearn-model.js';
import { decompressAsync, loadPickle } from './pickle/joblib.js';

/** A pickle or joblib file as Ferry's model document (verified by compileDocument when the registry loads it). */
export async function translateFile(bytes: Uint8Array): Promise<Translation> {
  const doc = translatePickle(bytes, await decompressAsync(bytes));
  const source = doc.source as Record<string, string | number | null>;
  return { artifact: encodeDocument(doc), lineage: source };
}

/** A model document (or, unregistered, a pickle) compiled, as a runtime. */
export async function loadSklearn(bytes: Uint8Array, label: string): Promise<ModelRuntime> {
  const doc = isDocument(bytes) ? decodeDocument(bytes) : translatePickle(bytes, await decompressAsync(bytes));
  return new SklearnModel(compileDocument(doc), label);
}

/** The model document of a pickle or joblib file (throws the pickle/estimator errors). */
export function translatePickle(bytes: Uint8Array, decompressed?: Awaited<ReturnType<typeof decompressAsync>>): ReturnType<typeof translate> {
  const loaded = loadPickle(bytes, decompressed ? { decompressed } : {});
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return translate(loaded.value, { sha256, container: loaded.joblib ? 'joblib' : 'pickle', compression: loaded.compression, bytes: bytes.length });
}
