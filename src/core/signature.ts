import type { DType } from './dtype.js';

/** One named input or output of a model: a tensor with a dtype and a shape (-1 = free axis). */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  /** Dimensions; -1 marks a free axis. The first axis is the batch axis when it is free. */
  readonly shape: readonly number[];
  /**
   * The data columns that fill this input, in element order, when known (from
   * `--input-columns` at registration or from the artifact itself).
   */
  readonly columns?: readonly string[];
  /** Whether empty cells are allowed (become NaN) rather than rejected. */
  readonly nullable?: boolean;
}

/** What a model takes and gives. Derived from the artifact, completed at registration. */
export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** Elements per row of a batched tensor: the product of every axis after the batch axis. */
export function rowWidth(spec: TensorSpec): number | undefined {
  const rest = spec.shape.slice(1);
  if (rest.some((d) => d < 0)) return undefined;
  return rest.reduce((a, b) => a * b, 1);
}

/** Shape of one row: the axes after the batch axis. */
export function rowShape(spec: TensorSpec): readonly number[] {
  return spec.shape.slice(1);
}

/** Human form of a shape: `[-1, 30]` → `[N, 30]`. */
export function describeShape(shape: readonly number[]): string {
  return `[${shape.map((d, i) => (d < 0 ? (i === 0 ? 'N' : '?') : String(d))).join(', ')}]`;
}

/** A signature with each input's column list replaced where `columns` names one. */
export function withInputColumns(sig: ModelSignature, columns: Readonly<Record<string, readonly string[]>>): ModelSignature {
  return {
    inputs: sig.inputs.map((spec) => (columns[spec.name] ? { ...spec, columns: columns[spec.name] } : spec)),
    outputs: sig.outputs,
  };
}
