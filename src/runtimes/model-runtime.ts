import type { ModelSignature } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelStructure } from './model-structure.js';

/** Options a runtime may honour when loading a model. */
/**
 * The widest input row a tree model may declare. A tree file states its width in one number
 * (XGBoost num_feature, LightGBM max_feature_idx) that costs nothing to write but a buffer of that
 * width per row to serve; no exporter's dense input comes near it.
 */
export const MAX_INPUT_WIDTH = 1 << 20;

export interface RuntimeOptions {
  /** Threads used inside one operator (ONNX Runtime intra-op). */
  readonly intraOpThreads?: number | undefined;
  /** Threads used to run independent operators in parallel (ONNX Runtime inter-op). */
  readonly interOpThreads?: number | undefined;
  /** Let idle runtime threads spin waiting for work (lower latency, but they burn CPU the server needs). */
  readonly spinning?: boolean | undefined;
  /** Run the model in this many worker threads (0 or undefined: on the calling thread). */
  readonly workers?: number | undefined;
  /**
   * With workers: batches expected to compute for less than this many milliseconds run on the
   * calling thread instead (a thread hop costs more than they do). Needs a second copy of the
   * model on the calling thread; 0 sends everything to the workers.
   */
  readonly inlineBelowMs?: number | undefined;
}

/** A loaded model, ready to score. Runtimes see only tensors, never rows or protocols. */
export interface ModelRuntime {
  readonly format: string;
  /** Inputs and outputs as the artifact declares them. */
  signature(): ModelSignature;
  /** Score one batch. `outputs` limits which outputs are computed (all when omitted). */
  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  /**
   * The model's inside in the neutral form explanations read (trees with covers, linear weights),
   * when the runtime can give it; absent or undefined for opaque formats (ONNX).
   */
  structure?(): Promise<ModelStructure | undefined>;
  close(): Promise<void>;
}

/** What sniffing an artifact's first bytes concluded. */
export type SniffResult = 'yes' | 'no';

/** What a format's `translate` made of a registered file: the artifact to store, and where it came from. */
export interface Translation {
  readonly artifact: Uint8Array;
  /** Facts about the original file for the version's lineage (sha256, library versions). */
  readonly lineage: Readonly<Record<string, string | number | null>>;
}

/** A model format: how to recognise its artifacts and load them. One per folder under runtimes/. */
export interface RuntimeFactory {
  /** The key used in the registry (`onnx`, `pmml`, …). */
  readonly format: string;
  /** How people write the format's name, in messages (`ONNX`, `scikit-learn`). */
  readonly title: string;
  /** Does this artifact look like this format? Cheap: looks at the first bytes. */
  sniff(bytes: Uint8Array): SniffResult;
  /**
   * Load an artifact. A file that is not a valid model throws an `ArtifactError` (or any error):
   * the catalog reports it, once, as FERRY_E_ARTIFACT_INVALID (artifact-error.ts).
   */
  load(bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime>;
  /**
   * Formats whose files are translated at registration (scikit-learn pickles → Ferry's model
   * document): the artifact to store instead of the file, or undefined when the file already is one.
   */
  translate?(bytes: Uint8Array, label: string): Promise<Translation | undefined>;
}
