import { ferry, quoteList } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ModelRuntime } from '../runtimes/model-runtime.js';
import type { ModelVersion } from '../registry/types.js';
import { planInputs, type PlanOptions } from './input-plan.js';
import { splitRows, type OutputColumn, type OutputValue } from './outputs.js';
import { packTensors, validateRows, type Reject } from './tensorize.js';

/** A registered version with its runtime loaded. */
export interface LoadedModel {
  readonly version: ModelVersion;
  readonly runtime: ModelRuntime;
}

export interface ScoreOptions extends PlanOptions {
  /** Only these outputs (all when omitted). */
  readonly outputs?: readonly string[];
}

/** The predictions for one Frame. */
export interface ScoreResult {
  readonly model: string;
  readonly version: number;
  /** Indexes (into the input Frame) of the rows that were scored, in order. */
  readonly rows: readonly number[];
  /** One column per output, aligned with `rows`. */
  readonly outputs: readonly OutputColumn[];
  /** Rows that failed validation, with the reason. */
  readonly rejects: readonly Reject[];
}

/**
 * The one scoring function. Every deployment mode — CLI, servers, batch jobs, stream
 * consumers — turns its input into a Frame and calls this; nothing else calls a runtime.
 * Whole-batch problems (missing columns, unknown outputs) throw; bad rows are rejected
 * individually and the rest are scored.
 */
export async function score(model: LoadedModel, frame: Frame, options: ScoreOptions = {}): Promise<ScoreResult> {
  const { version, runtime } = model;
  const signature = version.signature;
  const label = `${version.model}:${version.version}`;
  const outputNames = options.outputs ?? signature.outputs.map((o) => o.name);
  const unknown = outputNames.filter((n) => !signature.outputs.some((o) => o.name === n));
  if (unknown[0] !== undefined) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: unknown[0], outputs: quoteList(signature.outputs.map((o) => o.name)) });

  const plan = planInputs(signature, frame, options);
  const { valid, rejects, values } = validateRows(plan, frame);
  const columns = outputNames.map((name) => ({ name, values: [] as OutputValue[], column: undefined as OutputColumn | undefined }));

  // A model exported with a fixed batch size (e.g. [1, 30]) is run in chunks of that size,
  // the last chunk padded by repeating its final row.
  const fixed = signature.inputs.map((i) => i.shape[0] ?? -1).find((d) => d > 0);
  const chunk = fixed ?? Math.max(valid.length, 1);
  for (let start = 0; start < valid.length; start += chunk) {
    const rows = valid.slice(start, start + chunk);
    const real = rows.length;
    while (fixed !== undefined && rows.length < fixed) rows.push(rows[rows.length - 1] ?? 0);
    const tensors = packTensors(plan, values, rows);
    const result = await runtime.predict(tensors, outputNames);
    for (const col of columns) {
      const tensor = result[col.name];
      if (!tensor) throw ferry('FERRY_E_PREDICTION_FAILED', { format: runtime.format, model: label, detail: `the runtime returned no output "${col.name}"` });
      const split = splitRows(col.name, tensor, rows.length, label);
      col.column ??= split;
      col.values.push(...split.values.slice(0, real));
    }
  }
  const outputs = columns.map((c): OutputColumn => {
    const spec = signature.outputs.find((o) => o.name === c.name);
    return { name: c.name, dtype: c.column?.dtype ?? spec?.dtype ?? 'float32', rowShape: c.column?.rowShape ?? [], values: c.values };
  });
  return { model: version.model, version: version.version, rows: valid, outputs, rejects };
}
