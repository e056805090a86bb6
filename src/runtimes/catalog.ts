import { ferry } from '../core/errors.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions } from './model-runtime.js';
import { ThreadedRuntime } from './threaded.js';
import { onnxRuntime } from './onnx/onnx-runtime.js';
import { pmmlRuntime } from './pmml/pmml-runtime.js';
import { xgboostRuntime } from './xgboost/xgboost-runtime.js';

/**
 * The table of model formats. Adding a format means adding its folder and one line here.
 */
export const builtinRuntimes: readonly RuntimeFactory[] = [onnxRuntime, xgboostRuntime, pmmlRuntime];

/** Formats we recognise only to refuse them with advice. */
const refused: readonly { what: string; test: (b: Uint8Array) => boolean; hint: string }[] = [
  {
    what: 'a Python pickle (joblib/pickle model file)',
    // Pickle protocol 2+ starts with 0x80 <protocol>; joblib files are zlib/pickle.
    test: (b) => b[0] === 0x80 && (b[1] ?? 0) >= 2 && (b[1] ?? 0) <= 5,
    hint: 'pickles run arbitrary code when loaded. Export the model to ONNX (skl2onnx, torch.onnx.export) and register that file.',
  },
  {
    what: 'a ZIP archive (e.g. a PyTorch .pt checkpoint or a Keras file)',
    test: (b) => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04,
    hint: 'export the model to ONNX (torch.onnx.export, tf2onnx) and register that file.',
  },
];

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
  load(format: string, bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
    const factory = this.get(format);
    return options.workers && options.workers > 0 ? ThreadedRuntime.start(factory, bytes, options, label) : factory.load(bytes, options, label);
  }

  get(format: string): RuntimeFactory {
    const factory = this.#factories.get(format);
    if (!factory) throw ferry('FERRY_E_RUNTIME_UNAVAILABLE', { format, formats: this.formats.join(', ') });
    return factory;
  }

  /** The format of an artifact: the one given, else the first runtime whose sniff says yes. */
  detect(bytes: Uint8Array, path: string, given?: string): RuntimeFactory {
    if (given) return this.get(given);
    for (const r of refused) {
      if (r.test(bytes)) throw ferry('FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED', { path, what: r.what, hint: r.hint });
    }
    const matches = [...this.#factories.values()].filter((f) => f.sniff(bytes) === 'yes');
    const first = matches[0];
    if (!first) {
      const detail = bytes.byteLength === 0 ? 'the file is empty' : 'its content matches none of the supported formats';
      throw ferry('FERRY_E_ARTIFACT_FORMAT_UNKNOWN', { path, detail, formats: this.formats.join(', ') });
    }
    return first;
  }
}
