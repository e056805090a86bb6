/**
 * `ferry export`: resolve a version, score the sample rows through the one scoring core (the
 * parity vectors), let the target build its files, write them to a staging folder, run the
 * export's own parity test there, check the size budget, and only then move the result into
 * place. A failed check leaves nothing behind.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ferry, quoteList } from '../core/errors.js';
import { takeRows, type Cell, type Frame } from '../core/frame.js';
import { readFrame } from '../data/readers.js';
import type { Registry } from '../registry/registry.js';
import type { ModelLoader } from '../scoring/model-loader.js';
import { predictionRecords } from '../scoring/records.js';
import type { LoadedModel, Scorer } from '../scoring/scorer.js';
import type { ExportFile, ExportModel, ExportOptions, ExportTarget, ParityCheck } from './export-target.js';
import type { ParityVectors } from './package/types.js';
import { parityTolerance } from './formats.js';
import { DEFAULT_MAX_LABEL_CHANGE, quantizeForExport, type QuantizeReport } from './onnx/quantize-check.js';
import { sizeReport, type SizeReport } from './size-report.js';
import { EXPORT_TARGETS } from './targets.js';

/** What `ferry export` needs of Ferry: resolve, load and score. */
export interface ExportDeps {
  readonly registry: Registry;
  readonly loader: ModelLoader;
  readonly scorer: Scorer;
}

export interface ExportRequest extends ExportOptions {
  readonly ref: string;
  readonly target: string;
  readonly out: string;
  /** Rows for the parity vectors (CSV, JSONL or JSON). */
  readonly sample?: string;
  /** At most this many sample rows go into the parity vectors. */
  readonly sampleRows?: number;
  /** Fail when the export's gzipped size is over this many bytes. */
  readonly maxSize?: number;
  /** ONNX: quantize MatMul/Gemm weights to int8 (see onnx/quantize.ts). */
  readonly quantize?: 'int8';
  /** With `quantize`: the largest share of sample rows whose label may change (default 0.01). */
  readonly maxLabelChange?: number;
  /** With `quantize`: write the export even when more labels change than allowed. */
  readonly force?: boolean;
}

export interface ExportReport {
  readonly model: string;
  readonly version: number;
  readonly target: string;
  readonly out: string;
  readonly files: readonly string[];
  readonly size: SizeReport;
  /** The export's own parity test (undefined when the target ships none, e.g. SQL). */
  readonly parity: ParityCheck | undefined;
  /** With --quantize: sizes before/after and what the predictions lost on the sample rows. */
  readonly quantization?: QuantizeReport;
}

const DEFAULT_SAMPLE_ROWS = 200;


export function exportTarget(name: string): ExportTarget {
  const target = EXPORT_TARGETS.find((t) => t.name === name);
  if (!target) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--target "${name}" is not known; choose one of ${quoteList(EXPORT_TARGETS.map((t) => t.name))}.` });
  return target;
}

export async function exportModel(deps: ExportDeps, req: ExportRequest): Promise<ExportReport> {
  const target = exportTarget(req.target);
  const loaded = await deps.loader.load(req.ref);
  const { version } = loaded;
  const label = `${version.model}:${version.version}`;
  let artifact = await deps.registry.loadArtifact(version);

  let parity = target.checked ? await parityVectors(deps, loaded, req) : { keys: req.keys ?? [], rows: [], expected: [], tolerance: parityTolerance(version.format) };
  let quantization: QuantizeReport | undefined;
  if (req.quantize) {
    if (version.format !== 'onnx' || target.output !== 'folder') {
      throw ferry('FERRY_E_EXPORT_UNSUPPORTED', { model: label, format: version.format, target: target.name, reason: '--quantize int8 quantizes the weights of ONNX models in node and browser packages; trees, linear models and PMML are exported exactly' });
    }
    const q = await quantizeForExport(deps.scorer, version, artifact, parity, { maxLabelChange: req.maxLabelChange ?? DEFAULT_MAX_LABEL_CHANGE, force: req.force === true });
    ({ artifact, parity, report: quantization } = q);
  }
  const model: ExportModel = { version, artifact, label, parity, ...(req.quantize ? { quantized: req.quantize } : {}) };

  if (req.reportUrl !== undefined && target.output !== 'folder') throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--report-url is for node and browser packages (they report the predictions they make); --target ${target.name} writes a file.` });
  const refusal = target.refusal(model, req);
  if (refusal) throw ferry('FERRY_E_EXPORT_UNSUPPORTED', { model: label, format: version.format, target: target.name, reason: refusal });
  const files = await target.build(model, req);
  const size = sizeReport(files);
  if (req.maxSize !== undefined && size.gzip > req.maxSize) {
    throw ferry('FERRY_E_EXPORT_TOO_LARGE', { target: target.name, model: label, size: size.gzip, limit: req.maxSize });
  }

  const out = resolve(req.out);
  const staging = join(dirname(out), `.${basename(out)}.ferry-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  let parityCheck: ParityCheck | undefined;
  try {
    if (target.output === 'folder') {
      await writeFiles(staging, files);
      parityCheck = await target.verify?.(staging, model, req);
      assertParity(parityCheck, target.name, label);
      replaceFolder(staging, out);
    } else {
      const [file] = files;
      if (!file) throw ferry('FERRY_E_INTERNAL', { detail: `target ${target.name} produced no file` });
      await mkdir(dirname(out), { recursive: true });
      await writeFile(staging, file.bytes);
      parityCheck = await target.verify?.(staging, model, req);
      assertParity(parityCheck, target.name, label);
      renameSync(staging, out);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { model: version.model, version: version.version, target: target.name, out, files: files.map((f) => f.path), size, parity: parityCheck, ...(quantization ? { quantization } : {}) };
}

function assertParity(check: ParityCheck | undefined, target: string, label: string): void {
  if (check && !check.ok) {
    throw ferry('FERRY_E_EXPORT_PARITY', { target, model: label, detail: `${check.mismatches.length} value(s) differ (largest difference ${check.maxDiff}): ${check.mismatches.slice(0, 3).join('; ')}` });
  }
}

/** Sample rows and the server's predictions for them, through the one scoring core. */
async function parityVectors(deps: ExportDeps, loaded: LoadedModel, req: ExportRequest): Promise<ParityVectors> {
  if (!req.sample) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--sample <file> is needed: rows (CSV, JSONL or JSON) whose server predictions become the export's parity vectors, e.g. the model's reference data.` });
  const frame = await readFrame(req.sample);
  const keys = req.keys ?? [];
  const limited = firstRows(frame, req.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  const result = await deps.scorer.frame(loaded, limited, { ignore: keys });
  if (result.rows.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: `${req.sample} (no sample row passed validation${result.rejects[0] ? `: ${result.rejects[0].error.message}` : ''})` });
  return {
    keys,
    rows: result.rows.map((r) => rowObject(limited, r)),
    expected: predictionRecords(result, limited, keys),
    tolerance: parityTolerance(loaded.version.format),
  };
}

async function writeFiles(dir: string, files: readonly ExportFile[]): Promise<void> {
  for (const f of files) {
    const path = join(dir, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.bytes);
  }
}

/** Move the staged package to `out`; an earlier Ferry export there is replaced, anything else is refused. */
function replaceFolder(staging: string, out: string): void {
  if (existsSync(out)) {
    let previous = false;
    try {
      previous = (JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as { ferry?: unknown }).ferry !== undefined;
    } catch {
      previous = false;
    }
    if (!previous) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--out ${out} exists and is not an earlier Ferry export; choose another folder or remove it.` });
    rmSync(out, { recursive: true, force: true });
  }
  renameSync(staging, out);
}

function firstRows(frame: Frame, n: number): Frame {
  return frame.length <= n ? frame : takeRows(frame, Array.from({ length: n }, (_, i) => i));
}

function rowObject(frame: Frame, row: number): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const c of frame.columns) out[c] = frame.column(c)?.[row] ?? null;
  return out;
}
