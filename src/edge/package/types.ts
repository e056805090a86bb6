/**
 * What an exported package is made of: the model's data, what it records about where it came
 * from, and the evaluator of its format. Shared by the exporter (src/edge) and the package's
 * own code (bundled from this folder), so both read the same shapes.
 */
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { BatchOutput } from '../../runtimes/pmml/batch-scorer.js';
import type { RegressionLayout } from '../../runtimes/pmml/models/regression-run.js';
import type { EnsembleLayout, Value } from '../../runtimes/pmml/types.js';
import type { Tensor } from '../../core/tensor.js';
import type { ReportOptions } from './report.js';

/** A model the package can score: the runtime class the server uses, built from shipped data. */
export interface EdgeModel {
  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
}

/** One model format's evaluator inside a package: the server's runtime, built from the shipped bytes. */
export interface EdgeEvaluator {
  load(data: Uint8Array, label: string): EdgeModel | Promise<EdgeModel>;
}

/** Where the exported model came from (also in package.json under "ferry"). */
export interface Provenance {
  readonly model: string;
  readonly version: number;
  readonly aliases: readonly string[];
  readonly format: string;
  /** sha256 of the registered artifact. */
  readonly digest: string;
  readonly exportedAt: string;
  readonly ferryVersion: string;
  /** Set when the package carries the model quantized (`--quantize int8`): weights in int8, predictions within the export's reported change. */
  readonly quantized?: 'int8';
}

/** Everything the package knows besides the model's bytes. */
export interface EdgeMeta {
  readonly provenance: Provenance;
  /** The registered signature (with its input column mapping): what `predict` validates rows against. */
  readonly signature: ModelSignature;
  /** How model.js holds the model's bytes: base64 (binary arrays) or the text itself (PMML documents, which gzip better as text). */
  readonly encoding: 'base64' | 'text';
  /** Where `predict` reports its predictions (`ferry export --report-url`); off when absent. */
  readonly report?: ReportOptions;
}

/** The parity vectors shipped with a package: sample rows and the server's predictions for them. */
export interface ParityVectors {
  /** Columns copied from each row to its prediction (`--key`), not fed to the model. */
  readonly keys: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
  /** What the server predicted for each row, as `ferry predict --output x.jsonl` writes it. */
  readonly expected: readonly Record<string, unknown>[];
  /** Largest allowed difference: |a − b| ≤ abs + rel·|b| for numbers; labels and text exactly. */
  readonly tolerance: { readonly abs: number; readonly rel: number };
}

/**
 * A PMML document the server scores by its batch path, as its package ships it: the batch kernel's
 * arrays (a tree ensemble's flat layout or a RegressionModel's tables), the runtime's input and
 * output specs with how each output reads the kernel's arrays, and the predicted categories' values
 * (see `batchScorer` in src/runtimes/pmml/batch-scorer.ts).
 */
export interface PmmlBatchData {
  readonly kernel: { readonly kind: 'ensemble'; readonly layout: EnsembleLayout } | { readonly kind: 'regression'; readonly layout: RegressionLayout };
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly BatchOutput[];
  readonly categoryValues: readonly Value[];
  /** Per kernel field: the missingValueReplacement a missing value takes before the walk (NaN for none); absent when none has one. */
  readonly fills?: Float64Array;
}
