import { ferry } from '../core/errors.js';
import { loadArtifact, translateArtifact } from './artifact-error.js';
import type { ModelSignature } from '../core/signature.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions, Translation } from './model-runtime.js';
import { refusalFor } from './unsafe-formats.js';
import { onnxRuntime } from './onnx/onnx-runtime.js';
import { pmmlRuntime } from './pmml/pmml-runtime.js';
import { xgboostRuntime } from './xgboost/xgboost-runtime.js';
import { lightgbmRuntime } from './lightgbm/lightgbm-runtime.js';
import { sklearnRuntime } from './sklearn/sklearn-runtime.js';

/**
 * The table of model formats. Adding a format means adding its folder and one line here.
 */
export const builtinRuntimes: readonly RuntimeFactory[] = [onnxRuntime, xgboostRuntime, lightgbmRuntime, pmmlRuntime, sklearnRuntime];

/** Picks a runtime by format key, or by sniffing the artifact when no format is given. */
export class RuntimeCatalog {
  readonly #factories: ReadonlyMap<string, RuntimeFactory>;

  constructor(factories: readonly RuntimeFactory[] = builtinRuntimes) {
    this.#factories = new Map(factories.map((f) => [f.format, f]));
  }

  get formats(): string[] {
    return [...this.#factories.keys()];
  }

  /**
   * Load an artifact of a known format: in `options.workers` worker threads when asked (the
   * server), else on the calling thread (CLI, batch, registration).
   */
  async load(format: string, bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
    const factory = this.get(format);
    if (!options.workers || options.workers <= 0) return loadArtifact(factory, bytes, options, label);
    // The worker pool (piscina) loads only where models run in threads: the server.
    const { ThreadedRuntime } = await import('./threaded.js');
    return ThreadedRuntime.start(factory, bytes, options, label);
  }

  /**
   * The format of an artifact and its signature, proving the bytes load (after translating
   * them, for formats that store a translation): what registration needs (the registry's
   * `ArtifactInspector` port, bound to `options`).
   */
  inspector(options: RuntimeOptions): { inspect(bytes: Uint8Array, path: string, format?: string): Promise<{ format: string; signature: ModelSignature; translation: Translation | undefined }> } {
    return {
      inspect: async (file, path, format) => {
        const factory = this.detect(file, path, format);
        const translation = await translateArtifact(factory, file, path);
        const runtime = await loadArtifact(factory, translation?.artifact ?? file, options, path);
        try {
          return { format: factory.format, signature: runtime.signature(), translation };
        } finally {
          await runtime.close();
        }
      },
    };
  }

  get(format: string): RuntimeFactory {
    const factory = this.#factories.get(format);
    if (!factory) throw ferry('FERRY_E_RUNTIME_UNAVAILABLE', { format, formats: this.formats.join(', ') });
    return factory;
  }

  /**
   * The format of an artifact: the one given, else the one runtime whose sniff says yes.
   * PyTorch checkpoints, ZIP and HDF5 files are refused first, even with a format given.
   */
  detect(bytes: Uint8Array, path: string, given?: string): RuntimeFactory {
    const refusal = refusalFor(bytes);
    if (refusal) throw ferry('FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED', { path, what: refusal.what, hint: refusal.hint });
    if (given) return this.get(given);
    const matches = [...this.#factories.values()].filter((f) => f.sniff(bytes) === 'yes');
    const [first, second] = matches;
    if (!first) {
      const detail = bytes.byteLength === 0 ? 'the file is empty' : 'its content matches none of the supported formats';
      throw ferry('FERRY_E_ARTIFACT_FORMAT_UNKNOWN', { path, detail, formats: this.formats.join(', ') });
    }
    if (second) throw ferry('FERRY_E_ARTIFACT_FORMAT_AMBIGUOUS', { path, matches: matches.map((f) => f.format).join(', '), formats: this.formats.join(', ') });
    return first;
  }
}
