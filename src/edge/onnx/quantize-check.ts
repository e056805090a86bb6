/**
 * What `--quantize int8` costs in predictions: the quantized graph is run by the server's own
 * ONNX runtime on the parity rows and compared with the float model's predictions (the parity
 * vectors). The largest numeric change and the share of rows whose discrete outputs (labels,
 * classes) changed are reported; over the allowed share the export is refused unless forced.
 */
import { gzipSync } from 'node:zlib';
import { ferry } from '../../core/errors.js';
import { ColumnFrame } from '../../core/frame.js';
import type { ModelVersion } from '../../registry/types.js';
import { onnxRuntime } from '../../runtimes/onnx/onnx-runtime.js';
import { predictionRecords } from '../../scoring/records.js';
import type { Scorer } from '../../scoring/scorer.js';
import type { ParityVectors } from '../package/types.js';
import { quantizeInt8, type QuantizedTensor } from './quantize.js';
import { loadArtifact } from '../../runtimes/artifact-error.js';

/** The default largest share of parity rows whose label may change (`--max-label-change`). */
export const DEFAULT_MAX_LABEL_CHANGE = 0.01;

export interface QuantizeReport {
  readonly method: 'int8';
  readonly tensors: readonly QuantizedTensor[];
  /** The ONNX model's bytes before and after, raw and gzipped. */
  readonly before: { readonly raw: number; readonly gzip: number };
  readonly after: { readonly raw: number; readonly gzip: number };
  readonly rows: number;
  /** Largest |quantized − float| over every numeric output value of the parity rows. */
  readonly maxChange: number;
  /** Rows whose discrete outputs (labels, classes: integer, string or boolean outputs) changed. */
  readonly labelChanges: number;
  readonly maxLabelChange: number;
  /** Whether --force wrote an export over the allowed share. */
  readonly forced: boolean;
}

export interface QuantizeOptions {
  readonly maxLabelChange: number;
  readonly force: boolean;
}

const FLOATS = new Set(['float16', 'float32', 'float64']);

function maxDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) return a.reduce((m: number, x, i) => Math.max(m, maxDiff(x, b[i])), 0);
  return 0;
}

/**
 * Quantize the model, score the parity rows with it, and return the quantized artifact with
 * parity vectors of its own (the package is checked against the quantized graph as the server
 * runs it) and the report.
 */
export async function quantizeForExport(scorer: Scorer, version: ModelVersion, artifact: Uint8Array, parity: ParityVectors, options: QuantizeOptions): Promise<{ artifact: Uint8Array; parity: ParityVectors; report: QuantizeReport }> {
  const label = `${version.model}:${version.version}`;
  const q = quantizeInt8(artifact, label);
  const runtime = await loadArtifact(onnxRuntime, q.bytes, {}, `${label} (int8)`);
  let expected: ParityVectors['expected'];
  try {
    const frame = ColumnFrame.fromRows(parity.rows);
    const result = await scorer.frame({ version, runtime }, frame, { ignore: parity.keys });
    if (result.rejects.length > 0 || result.rows.length !== parity.rows.length) throw ferry('FERRY_E_INTERNAL', { detail: `the quantized model refused ${result.rejects.length} parity row(s)` });
    expected = predictionRecords(result, frame, parity.keys);
  } finally {
    await runtime.close();
  }
  const discrete = version.signature.outputs.filter((o) => !FLOATS.has(o.dtype)).map((o) => o.name);
  const numeric = version.signature.outputs.filter((o) => FLOATS.has(o.dtype)).map((o) => o.name);
  let changed = 0;
  let change = 0;
  expected.forEach((got, r) => {
    const want = parity.expected[r] ?? {};
    if (discrete.some((name) => JSON.stringify(got[name]) !== JSON.stringify(want[name]))) changed++;
    for (const name of numeric) change = Math.max(change, maxDiff(got[name], want[name]));
  });
  const size = (b: Uint8Array) => ({ raw: b.length, gzip: gzipSync(b, { level: 9 }).length });
  const rows = parity.rows.length;
  if (changed > options.maxLabelChange * rows && !options.force) {
    throw ferry('FERRY_E_EXPORT_QUANTIZE_DRIFT', { model: label, changed, rows, share: (changed / rows).toFixed(4), limit: options.maxLabelChange, maxChange: change });
  }
  return {
    artifact: q.bytes,
    parity: { ...parity, expected },
    report: { method: 'int8', tensors: q.tensors, before: size(artifact), after: size(q.bytes), rows, maxChange: change, labelChanges: changed, maxLabelChange: options.maxLabelChange, forced: changed > options.maxLabelChange * rows },
  };
}
