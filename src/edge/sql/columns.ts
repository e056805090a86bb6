import type { ModelSignature } from '../../core/signature.js';

/**
 * The table's columns the query reads, in the model's feature order: the one input's column
 * mapping, or — a model of scalar inputs (PMML) — the inputs' names.
 */
export function sqlColumns(signature: ModelSignature): readonly string[] | undefined {
  const [input, ...more] = signature.inputs;
  if (input && more.length === 0 && input.columns) return input.columns;
  return signature.inputs.length > 0 && signature.inputs.every((i) => i.shape.length === 1) ? signature.inputs.map((i) => i.name) : undefined;
}
