import { ferry, FerryError, quoteList } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelVersion } from '../registry/types.js';
import type { ModelRuntime } from '../runtimes/model-runtime.js';
import { Batcher, type BatchObserver, type BatchPolicy } from './batcher.js';
import type { ResponseCache } from './cache.js';
import { planInputs, type InputPlan, type PlanOptions } from './input-plan.js';
import { splitRows, type OutputColumn } from './outputs.js';
import { packTensors, validateRows, type ConvertedColumns, type Reject } from './tensorize.js';
import { checkTensors, concatRows, sliceRows, takeRows } from './tensor-ops.js';

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
  /** Columns of the Frame no input used (ignored; refused with `strictColumns`). */
  readonly ignoredColumns?: readonly string[];
  /** The model's inputs as scored (rows aligned with `rows`), when a row was scored. */
  readonly inputs?: ScoredTensors;
}

/**
 * The tensors a Frame was scored as, and the Frame columns that filled each input element by
 * element (inputs filled from one whole-row cell are not listed). The prediction log stores them
 * packed, as it stores a served request's tensors, instead of the Frame's cells one by one.
 */
export interface ScoredTensors {
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly columns: Readonly<Record<string, readonly string[]>>;
}

/** The predictions for named tensors. */
export interface TensorScoreResult {
  readonly model: string;
  readonly version: number;
  readonly rows: number;
  readonly outputs: Readonly<Record<string, Tensor>>;
  readonly cached: boolean;
  /** Time waiting for a batch, and running the model (ms). */
  readonly queueMs: number;
  readonly computeMs: number;
}

export interface TensorOptions {
  /** Only these outputs (all when omitted). */
  readonly outputs?: readonly string[];
  /** Call the runtime straight away: no cache, no batching, no metrics (warm-up requests). */
  readonly direct?: boolean;
}

/** Hooks for metrics; every hook is optional. */
export interface ScoreObserver extends BatchObserver {
  onCompute?(model: string, ms: number): void;
}

export interface ScorerOptions {
  /** Dynamic batching for a model, or undefined to call the runtime per request (the default). */
  readonly batchPolicy?: (model: LoadedModel) => BatchPolicy | undefined;
  /** Response cache for a model, or undefined (the default). */
  readonly cache?: (model: LoadedModel) => ResponseCache | undefined;
  readonly observer?: ScoreObserver;
}

/**
 * The one scoring core. Every deployment mode — CLI, servers, batch jobs, stream
 * consumers — hands it a Frame (rows) or named Tensors; nothing else calls a runtime.
 * Whole-batch problems (missing columns, unknown outputs, wrong tensor shapes) throw; bad
 * rows of a Frame are rejected one by one and the rest are scored. Batching and the
 * response cache live here, so every protocol gets them alike.
 */
export class Scorer {
  readonly #options: ScorerOptions;
  readonly #batchers = new Map<LoadedModel, Batcher>();

  constructor(options: ScorerOptions = {}) {
    this.#options = options;
  }

  /** Score rows: map columns onto inputs, validate each row, run the valid ones. */
  async frame(model: LoadedModel, frame: Frame, options: ScoreOptions = {}): Promise<ScoreResult> {
    const { version } = model;
    const outputNames = this.#outputNames(version, options.outputs);
    const plan = planInputs(version.signature, frame, options);
    const checked = validateRows(plan, frame);
    const { values } = checked;
    let outputs: OutputColumn[] = outputNames.map((name) => ({ name, dtype: outputDtype(version, name), rowShape: [], values: [] }));
    let inputs: ScoredTensors | undefined;
    const scored = await this.#scoreRows(model, plan, values, checked.valid, frame.length, outputNames);
    const valid = scored.rows;
    if (scored.outputs && valid.length > 0) {
      const result = scored.outputs;
      inputs = { tensors: scored.tensors ?? packTensors(plan, values, valid, frame.length), columns: inputColumns(plan) };
      outputs = outputNames.map((name) => {
        const t = result[name];
        if (!t) throw ferry('FERRY_E_PREDICTION_FAILED', { format: model.runtime.format, model: label(version), detail: `the runtime returned no output "${name}"` });
        return splitRows(name, t, valid.length, label(version));
      });
    }
    const rejects = scored.rejects.length === 0 ? checked.rejects : [...checked.rejects, ...scored.rejects].sort((a, b) => a.row - b.row);
    return { model: version.model, version: version.version, rows: valid, outputs, rejects, ignoredColumns: plan.unused, ...(inputs ? { inputs } : {}) };
  }

  /**
   * Run the validated `rows` of a Frame. A row the runtime itself refuses (a category the model
   * never saw in training) is rejected like a row validation refuses, with its Frame row number,
   * and the other rows run again without it; after a few refusals the rest run in halves, so k
   * bad rows cost O(k log n) runs, not k. `tensors`: what the one successful run was given.
   */
  async #scoreRows(model: LoadedModel, plan: InputPlan, values: ConvertedColumns, rows: readonly number[], frameLength: number, outputNames: readonly string[]): Promise<{ rows: readonly number[]; outputs: Record<string, Tensor> | undefined; tensors?: Record<string, Tensor>; rejects: Reject[] }> {
    const rejects: Reject[] = [];
    let left = rows;
    for (let refused = 0; left.length > 0;) {
      if (refused >= 4 && left.length > 1) {
        const mid = left.length >> 1;
        const a = await this.#scoreRows(model, plan, values, left.slice(0, mid), frameLength, outputNames);
        const b = await this.#scoreRows(model, plan, values, left.slice(mid), frameLength, outputNames);
        const outputs = a.outputs && b.outputs ? Object.fromEntries(outputNames.map((n) => [n, concatRows([a.outputs?.[n], b.outputs?.[n]].filter((t): t is Tensor => t !== undefined))])) : a.outputs ?? b.outputs;
        return { rows: [...a.rows, ...b.rows], outputs, rejects: [...rejects, ...a.rejects, ...b.rejects] };
      }
      const tensors = packTensors(plan, values, left, frameLength);
      try {
        const result = await this.#run(model, tensors, left.length, outputNames);
        return { rows: left, outputs: result.outputs, tensors, rejects };
      } catch (err) {
        const at = refusedRow(err, left.length);
        if (at === undefined || !(err instanceof FerryError)) throw err;
        const row = left[at] as number;
        rejects.push({ row, error: ferry(err.code, { ...err.params, row: row + 1 }, err) });
        left = left.filter((_, i) => i !== at);
        refused++;
      }
    }
    return { rows: [], outputs: undefined, rejects };
  }

  /** Score named tensors (Open Inference Protocol, gRPC): checked against the signature first. */
  async tensors(model: LoadedModel, tensors: Readonly<Record<string, Tensor>>, options: TensorOptions = {}): Promise<TensorScoreResult> {
    const { version } = model;
    const outputNames = this.#outputNames(version, options.outputs);
    const rows = checkTensors(version.signature, tensors);
    const r = await this.#run(model, tensors, rows, outputNames, options.direct === true);
    return { model: version.model, version: version.version, rows, outputs: r.outputs, cached: r.cached, queueMs: r.queueMs, computeMs: r.computeMs };
  }

  /** Stop batching for a version that is being unloaded (queued requests fail). */
  release(model: LoadedModel): void {
    this.#batchers.get(model)?.close();
    this.#batchers.delete(model);
  }

  close(): void {
    for (const b of this.#batchers.values()) b.close();
    this.#batchers.clear();
  }

  #outputNames(version: ModelVersion, wanted: readonly string[] | undefined): readonly string[] {
    const all = version.signature.outputs.map((o) => o.name);
    const unknown = (wanted ?? []).find((n) => !all.includes(n));
    if (unknown !== undefined) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: unknown, outputs: quoteList(all) });
    return wanted && wanted.length > 0 ? wanted : all;
  }

  async #run(model: LoadedModel, tensors: Readonly<Record<string, Tensor>>, rows: number, outputs: readonly string[], direct = false): Promise<Omit<TensorScoreResult, 'model' | 'version' | 'rows'>> {
    if (direct) return { outputs: await runDirect(model, tensors, rows, outputs), cached: false, queueMs: 0, computeMs: 0 };
    const cache = this.#options.cache?.(model);
    const key = cache?.key(label(model.version), tensors, outputs);
    if (cache && key !== undefined) {
      const hit = cache.get(model.version.model, key);
      if (hit) return { outputs: hit, cached: true, queueMs: 0, computeMs: 0 };
    }
    const started = performance.now();
    let result: Record<string, Tensor>;
    let queueMs = 0;
    const batcher = this.#batcher(model);
    if (batcher) {
      const batched = await batcher.submit(tensors, rows);
      queueMs = batched.queueMs;
      result = pick(batched.outputs, outputs);
    } else {
      result = await runDirect(model, tensors, rows, outputs);
    }
    const computeMs = performance.now() - started - queueMs;
    this.#options.observer?.onCompute?.(model.version.model, computeMs);
    if (cache && key !== undefined) cache.set(key, result);
    return { outputs: result, cached: false, queueMs, computeMs };
  }

  #batcher(model: LoadedModel): Batcher | undefined {
    const existing = this.#batchers.get(model);
    if (existing) return existing;
    const policy = this.#options.batchPolicy?.(model);
    if (!policy || fixedBatch(model) !== undefined) return undefined;
    const batcher = new Batcher((t) => model.runtime.predict(t), policy, label(model.version), this.#options.observer);
    this.#batchers.set(model, batcher);
    return batcher;
  }
}

/**
 * Call the runtime once — or, for a model exported with a fixed batch size (e.g. [1, 30]),
 * once per chunk of that size, the last chunk padded by repeating its final row.
 */
async function runDirect(model: LoadedModel, tensors: Readonly<Record<string, Tensor>>, rows: number, outputs: readonly string[]): Promise<Record<string, Tensor>> {
  const fixed = fixedBatch(model);
  if (fixed === undefined || fixed === rows) return model.runtime.predict(tensors, outputs);
  const parts: Record<string, Tensor>[] = [];
  for (let start = 0; start < rows; start += fixed) {
    const index = Array.from({ length: fixed }, (_, i) => Math.min(start + i, rows - 1));
    const chunk: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) chunk[name] = takeRows(t, index);
    const out = await model.runtime.predict(chunk, outputs);
    const real = Math.min(fixed, rows - start);
    const trimmed: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) trimmed[name] = sliceRows(t, 0, real);
    parts.push(trimmed);
  }
  const result: Record<string, Tensor> = {};
  for (const name of outputs) result[name] = concatRows(parts.map((p) => p[name] as Tensor));
  return result;
}

/**
 * The 0-based row of a batch of `rows` that a runtime error blames: a bad-value error naming
 * row 1 … rows (the row's own cell, checked by the runtime rather than by validation).
 */
function refusedRow(err: unknown, rows: number): number | undefined {
  if (!(err instanceof FerryError) || (err.code !== 'FERRY_E_VALUE_TYPE' && err.code !== 'FERRY_E_VALUE_MISSING')) return undefined;
  const row = err.params.row;
  return typeof row === 'number' && Number.isInteger(row) && row >= 1 && row <= rows ? row - 1 : undefined;
}

function inputColumns(plan: InputPlan): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const b of plan.bindings) if (b.source.kind === 'columns') out[b.spec.name] = b.source.columns;
  return out;
}

function fixedBatch(model: LoadedModel): number | undefined {
  const d = model.version.signature.inputs.map((i) => i.shape[0] ?? -1).find((x) => x > 0);
  return d;
}

function pick(all: Record<string, Tensor>, names: readonly string[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const n of names) if (all[n]) out[n] = all[n];
  return out;
}

function outputDtype(version: ModelVersion, name: string): OutputColumn['dtype'] {
  return version.signature.outputs.find((o) => o.name === name)?.dtype ?? 'float32';
}

function label(version: ModelVersion): string {
  return `${version.model}:${version.version}`;
}
