import { asFerryError, ferry } from '../core/errors.js';
import { takeRows, type Frame } from '../core/frame.js';
import type { Tensor } from '../core/tensor.js';
import type { Registry } from '../registry/registry.js';
import type { ModelRef } from '../registry/refs.js';
import type { ModelVersion } from '../registry/types.js';
import { confidenceOf, confidenceOutput, type ScoredOutputs } from './confidence.js';
import type { ModelDeployment } from './deployment-config.js';
import type { Deployments, Lease } from './deployments.js';
import type { ModelLoader } from './model-loader.js';
import type { InputStage, ObserverNotes, OutputStage, PipelineInput, PipelineObserver, PipelineStage, RunInfo, ScoredEvent, ScoreSource } from './pipeline-hooks.js';
import type { LoadedModel, ScoreOptions, ScoreResult, Scorer } from './scorer.js';
import type { Reject } from './tensorize.js';
import { EXPLAIN_STAGE } from './explain-stage.js';

/**
 * Which version to score with:
 * - `served`: a model kept by the pipeline's `Deployments` (servers), as `deployments.config(name)`
 *   gave it (the caller looks it up once, e.g. to answer 404 before reading a body): `pointer`
 *   is a version number or alias; without one the request is routed (route, or canary split);
 * - `lease`: a version the caller leased from `Deployments` itself (a stream micro-batch);
 * - `version`: a resolved registry version (batch runs, monitoring commands);
 * - `ref`: a registry reference (`name`, `name:3`, `name@alias`), resolved now (one-off CLI).
 */
export type ModelTarget =
  | { readonly served: ModelDeployment; readonly pointer?: string | number | undefined }
  | { readonly lease: Lease }
  | { readonly version: ModelVersion }
  | { readonly ref: string | ModelRef };

export interface PipelineRequest<I extends PipelineInput = PipelineInput> {
  readonly model: ModelTarget;
  readonly input: I;
  /** Only these outputs (all when omitted or empty). */
  readonly outputs?: readonly string[] | undefined;
  readonly source: ScoreSource;
  readonly requestId?: string | undefined;
  /** Ask for the confidence score (undefined = the deployment's `confidence.respond`). */
  readonly confidence?: boolean | undefined;
  /** Frame rows that fail validation: `reject` returns them in `result.rejects` (default); `fail` throws the first (a protocol request is all or nothing). */
  readonly badRows?: 'reject' | 'fail';
  /**
   * One group number per Frame row: rows of a group stand or fall together (a stream message).
   * When one row of a group is rejected, the group's other rows leave the result and the event.
   */
  readonly groups?: ArrayLike<number> | undefined;
  /** Output stages to run, by name, with their options (e.g. `{ explain: { method: 'treeshap' } }`). */
  readonly extras?: Readonly<Record<string, unknown>> | undefined;
  /** The mode's own prediction-log share (batch and stream `--log-predictions`); undefined = the deployment's `log:`. */
  readonly log?: number | undefined;
  /** The caller can wait for observers rather than have them drop (batch). */
  readonly lossless?: boolean | undefined;
  /** False: tell no observer (a shadow mirror's copy of a request). */
  readonly observe?: boolean | undefined;
}

interface RunAnswer {
  readonly model: string;
  readonly version: number;
  /** One id per scored row when the run was logged. */
  readonly predictionIds?: readonly string[] | undefined;
  /** Top-class probability per row, when asked for and the model has a probability output. */
  readonly confidence?: Float64Array | undefined;
  /** Outputs added by output stages, by stage name. */
  readonly extras?: Readonly<Record<string, ScoredOutputs>> | undefined;
}

/** The answer to tensors: tensors. */
export interface TensorRun extends RunAnswer {
  readonly kind: 'tensors';
  readonly rows: number;
  readonly outputs: Readonly<Record<string, Tensor>>;
}

/** The answer to a Frame: output columns for the scored rows, and the rejected rows. */
export interface FrameRun extends RunAnswer {
  readonly kind: 'frame';
  readonly result: ScoreResult;
}

/** The answer in the shape of the input. */
export type RunResult<I extends PipelineInput> = I extends { kind: 'tensors' } ? TensorRun : I extends { kind: 'frame' } ? FrameRun : TensorRun | FrameRun;

/** Rows a version scored elsewhere (`Pipeline.record`): inputs, outputs, and the ids and time they were given. */
export interface RecordedRun {
  readonly version: ModelVersion;
  readonly frame: Frame;
  readonly outputs: ScoredOutputs;
  /** One id per row, made by the scorer (unique: the log refuses none, but keeps the first of a repeated id). */
  readonly predictionIds: readonly string[];
  readonly at: number;
  readonly latencyMs: number;
  readonly requestId?: string | undefined;
}

/** What the pipeline scores with. */
export interface PipelineParts {
  readonly registry: Pick<Registry, 'resolve'>;
  readonly loader: Pick<ModelLoader, 'loadVersion'>;
  readonly scorer: Pick<Scorer, 'tensors' | 'frame'>;
  /** The versions a server keeps loaded (targets `{ served }`). */
  readonly deployments?: Deployments | undefined;
}

interface Target {
  readonly loaded: LoadedModel;
  readonly deployment: ModelDeployment | undefined;
  readonly pointer: string | undefined;
  release(): void;
}

const NO_RELEASE = (): void => undefined;

/**
 * The one inference pipeline. Every mode — CLI predict, the REST and gRPC servers, batch runs,
 * stream consumers, the monitoring commands — calls `run`: it resolves the version (through
 * `Deployments` for served models), runs the input stages, scores through the `Scorer`,
 * computes confidence once, runs the output stages asked for, and hands one `ScoredEvent` to
 * the observers registered at the composition root (prediction log, metrics, shadow mirror).
 *
 * @example
 *   const run = await pipeline.run({ model: { ref: 'churn@champion' }, input: { kind: 'frame', frame }, source: 'cli' });
 *   run.result.outputs; // one column per output, aligned with run.result.rows
 */
export class Pipeline {
  readonly #parts: PipelineParts;
  readonly #observers: PipelineObserver[] = [];
  readonly #inputStages: InputStage[] = [];
  readonly #outputStages = new Map<string, OutputStage>();
  /** Runs seen per model by the log's explanation sampling (deployment `log.explain`). */
  readonly #explainCounts = new Map<string, number>();

  constructor(parts: PipelineParts) {
    this.#parts = parts;
  }

  /** The served models' lifecycle, when this pipeline serves (servers). */
  get deployments(): Deployments | undefined {
    return this.#parts.deployments;
  }

  /** Register an observer (at the composition root); returns a function that removes it. */
  observe(observer: PipelineObserver): () => void {
    this.#observers.push(observer);
    return () => {
      const i = this.#observers.indexOf(observer);
      if (i >= 0) this.#observers.splice(i, 1);
    };
  }

  /** Add a stage: input stages run in the order added; an output stage runs when a request names it. */
  use(stage: PipelineStage): void {
    if (stage.at === 'input') this.#inputStages.push(stage);
    else this.#outputStages.set(stage.name, stage);
  }

  /**
   * Load a version now, before its first rows arrive (a batch run starts this while it opens and
   * counts its input): the first `run` then finds the runtime ready. A failed load is not
   * reported here; the next `run` loads again and reports it.
   */
  prepare(version: ModelVersion): void {
    this.#parts.loader.loadVersion(version).catch(() => undefined);
  }

  /** Let every observer write what it queued (the end of a batch run). */
  async flush(): Promise<void> {
    await Promise.all(this.#observers.map((o) => o.flush?.() ?? Promise.resolve()));
  }

  async run<I extends PipelineInput>(request: PipelineRequest<I>): Promise<RunResult<I>> {
    const started = performance.now();
    let version: number | undefined;
    const observers = request.observe === false ? [] : this.#observers;
    try {
      const target = await this.#target(request.model);
      version = target.loaded.version.version;
      return await this.#score(request, target, observers, started) as RunResult<I>;
    } catch (err) {
      const error = asFerryError(err);
      if (observers.length > 0) {
        const event = { source: request.source, model: modelName(request.model), version, error, latencyMs: performance.now() - started };
        for (const o of observers) {
          try {
            o.failed?.(event);
          } catch {
            // An observer never fails a run.
          }
        }
      }
      throw error;
    }
  }

  /**
   * Predictions a registered version made elsewhere — an edge package's `report` — handed to the
   * observers as a scored run of source `edge` with the package's prediction ids and times, so
   * the prediction log (and through it drift and live metrics) covers them. Nothing is scored;
   * no deployment is involved (no shadow mirror). Waits for the log like a batch run.
   */
  async record(run: RecordedRun): Promise<ObserverNotes | undefined> {
    const rows = run.frame.length;
    if (rows === 0 || this.#observers.length === 0) return undefined;
    const event: ScoredEvent = {
      source: 'edge', version: run.version, deployment: undefined, log: 1,
      requestId: run.requestId, pointer: String(run.version.version), input: { kind: 'frame', frame: run.frame }, rows,
      frameRows: Array.from({ length: rows }, (_, i) => i), outputs: run.outputs, requested: undefined, extras: undefined, confidence: undefined,
      latencyMs: run.latencyMs, queueMs: 0, lossless: true, predictionIds: run.predictionIds, at: run.at,
    };
    return notify(this.#observers, event);
  }

  async #score(request: PipelineRequest, target: Target, observers: readonly PipelineObserver[], started: number): Promise<TensorRun | FrameRun> {
    const { loaded, deployment } = target;
    const { version } = loaded;
    const info: RunInfo = { source: request.source, version, deployment, log: request.log };
    const wantConfidence = request.confidence ?? deployment?.confidence?.respond ?? false;
    const confidenceSpec = wantConfidence || observers.some((o) => o.wantsConfidence?.(info) === true) ? confidenceOutput(version.signature, deployment?.confidence) : undefined;
    const requested = request.outputs && request.outputs.length > 0 ? request.outputs : undefined;
    // The probability output is scored whenever confidence needs it, even if not asked for.
    const scoredNames = requested && confidenceSpec && !requested.includes(confidenceSpec.name) ? [...requested, confidenceSpec.name] : requested;
    let input: PipelineInput = request.input;
    let outputs: ScoredOutputs;
    let rows: number;
    let frameRows: readonly number[] | undefined;
    let queueMs = 0;
    let frameResult: ScoreResult | undefined;
    let extras: Record<string, ScoredOutputs> | undefined;
    let observed: Record<string, ScoredOutputs> | undefined;
    try {
      for (const stage of this.#inputStages) {
        const next = await stage.prepare({ model: loaded, source: request.source, deployment, input });
        if (next.kind !== input.kind) throw ferry('FERRY_E_INTERNAL', { detail: `input stage "${stage.name}" turned ${input.kind} into ${next.kind}` });
        input = next;
      }
      if (input.kind === 'tensors') {
        const r = await this.#parts.scorer.tensors(loaded, input.tensors, scoredNames ? { outputs: scoredNames } : {});
        outputs = { kind: 'tensors', tensors: r.outputs };
        rows = r.rows;
        queueMs = r.queueMs;
      } else {
        const options = { ...input.plan, ...(scoredNames ? { outputs: scoredNames } : {}) };
        let r = input.refused && input.refused.length > 0
          ? await scoreAllBut(this.#parts.scorer, loaded, input.frame, input.refused, options)
          : await this.#parts.scorer.frame(loaded, input.frame, options);
        const firstReject = r.rejects[0];
        if (firstReject && request.badRows === 'fail') throw firstReject.error;
        if (firstReject && request.groups) r = wholeGroups(r, request.groups);
        frameResult = r;
        outputs = { kind: 'columns', columns: r.outputs };
        rows = r.rows.length;
        frameRows = r.rows;
      }
      extras = await this.#extras(request, loaded, input, outputs, rows, frameRows);
      observed = await this.#explainedForLog(request, deployment, loaded, input, outputs, rows, frameRows, extras);
    } finally {
      target.release();
    }
    const latencyMs = performance.now() - started;
    const confidence = confidenceSpec && (wantConfidence || deployment?.confidence?.min !== undefined) ? confidenceOf(confidenceSpec, outputs, rows) : undefined;
    let notes: ObserverNotes | undefined;
    if (observers.length > 0) {
      // Listed property by property: a spread of `info` here took ~6 % of a server's CPU (V8's generic clone path).
      const event: ScoredEvent = {
        source: info.source, version, deployment, log: info.log,
        requestId: request.requestId, pointer: target.pointer, input, rows, frameRows, inputTensors: frameResult?.inputs, outputs, requested, extras: observed ?? extras, confidence, latencyMs, queueMs, lossless: request.lossless === true,
      };
      notes = await notify(observers, event);
    }
    const predictionIds = notes?.predictionIds;
    const answered = wantConfidence ? confidence : undefined;
    if (outputs.kind === 'tensors') {
      let tensors = outputs.tensors;
      const extra = scoredNames !== requested ? confidenceSpec?.name : undefined;
      if (extra !== undefined) {
        const kept = { ...tensors };
        delete kept[extra];
        tensors = kept;
      }
      return { kind: 'tensors', model: version.model, version: version.version, predictionIds, confidence: answered, extras, rows, outputs: tensors };
    }
    const answer = {
      model: version.model,
      version: version.version,
      ...(predictionIds ? { predictionIds } : {}),
      ...(answered ? { confidence: answered } : {}),
      ...(extras ? { extras } : {}),
    };
    const extra = scoredNames !== requested ? confidenceSpec?.name : undefined;
    let result = frameResult as ScoreResult;
    if (extra !== undefined) result = { ...result, outputs: result.outputs.filter((o) => o.name !== extra) };
    return { kind: 'frame', ...answer, result };
  }

  async #extras(request: PipelineRequest, model: LoadedModel, input: PipelineInput, outputs: ScoredOutputs, rows: number, frameRows: readonly number[] | undefined): Promise<Record<string, ScoredOutputs> | undefined> {
    if (!request.extras) return undefined;
    const out: Record<string, ScoredOutputs> = {};
    for (const [name, options] of Object.entries(request.extras)) {
      const stage = this.#outputStages.get(name);
      if (!stage) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: name, outputs: [...this.#outputStages.keys()].map((n) => `"${n}"`).join(', ') || '(no output stages)' });
      out[name] = await stage.add({ model, source: request.source, input, rows, frameRows, outputs, options });
    }
    return out;
  }

  /**
   * A deployment whose log explains a share of requests (`log: {explain: 0.1}`): a sampled run that
   * did not ask for an explanation gets one for the observers (the prediction log) only; the caller's
   * answer is unchanged. Evenly spread, like the log's own sampling.
   */
  async #explainedForLog(request: PipelineRequest, deployment: ModelDeployment | undefined, model: LoadedModel, input: PipelineInput, outputs: ScoredOutputs,
    rows: number, frameRows: readonly number[] | undefined, extras: Record<string, ScoredOutputs> | undefined): Promise<Record<string, ScoredOutputs> | undefined> {
    const share = deployment?.log?.explain;
    const stage = this.#outputStages.get(EXPLAIN_STAGE);
    if (!deployment || share === undefined || share <= 0 || request.log !== undefined || request.observe === false || !stage || extras?.[EXPLAIN_STAGE] || rows <= 0) return undefined;
    const n = this.#explainCounts.get(deployment.name) ?? 0;
    this.#explainCounts.set(deployment.name, n + 1);
    if (share < 1 && Math.floor((n + 1) * share) <= Math.floor(n * share)) return undefined;
    try {
      return { ...extras, [EXPLAIN_STAGE]: await stage.add({ model, source: request.source, input, rows, frameRows, outputs, options: {} }) };
    } catch {
      return undefined; // a model that cannot be explained is still answered and logged
    }
  }

  async #target(target: ModelTarget): Promise<Target> {
    if ('lease' in target) return { loaded: target.lease.loaded, deployment: target.lease.deployment, pointer: target.lease.pointer, release: NO_RELEASE };
    if ('served' in target) {
      const deployments = this.#parts.deployments;
      if (!deployments) throw ferry('FERRY_E_INTERNAL', { detail: 'a served model was asked of a pipeline without deployments' });
      const deployment = target.served;
      const asked = target.pointer === undefined ? undefined : String(target.pointer);
      const lease = await deployments.acquire(deployment.name, asked ?? deployments.route(deployment.name));
      return { loaded: lease.loaded, deployment, pointer: asked, release: () => lease.release() };
    }
    const version = 'version' in target ? target.version : await this.#parts.registry.resolve(target.ref);
    return { loaded: await this.#parts.loader.loadVersion(version), deployment: undefined, pointer: undefined, release: NO_RELEASE };
  }
}

/** Tell each observer; wait only for the ones that answer with a promise (lossless events). */
async function notify(observers: readonly PipelineObserver[], event: ScoredEvent): Promise<ObserverNotes | undefined> {
  let notes: ObserverNotes | undefined;
  for (const o of observers) {
    try {
      const r = o.scored?.(event);
      const got = r instanceof Promise ? await r : r;
      if (got?.predictionIds) notes = { ...notes, predictionIds: got.predictionIds };
    } catch {
      // An observer never fails a run.
    }
  }
  return notes;
}

/** Score the rows not refused by an input stage; refused rows join the rejects, indexes stay the Frame's. */
async function scoreAllBut(scorer: Pick<Scorer, 'frame'>, loaded: LoadedModel, frame: Frame, refused: readonly Reject[], options: ScoreOptions): Promise<ScoreResult> {
  const out = new Set(refused.map((r) => r.row));
  const keep: number[] = [];
  for (let i = 0; i < frame.length; i++) if (!out.has(i)) keep.push(i);
  const r = await scorer.frame(loaded, takeRows(frame, keep), options);
  const rejects = [...refused, ...r.rejects.map((x) => ({ ...x, row: keep[x.row] ?? x.row }))].sort((a, b) => a.row - b.row);
  return { ...r, rows: r.rows.map((i) => keep[i] ?? i), rejects };
}

/** Leave out the scored rows of groups that have a rejected row. */
function wholeGroups(result: ScoreResult, groups: ArrayLike<number>): ScoreResult {
  const bad = new Set(result.rejects.map((r) => groups[r.row]));
  const keep: number[] = [];
  result.rows.forEach((row, i) => { if (!bad.has(groups[row])) keep.push(i); });
  if (keep.length === result.rows.length) return result;
  // The scored input tensors still hold the rows left out: the log falls back to the Frame's cells.
  const { inputs: _inputs, ...rest } = result;
  return {
    ...rest,
    rows: keep.map((i) => result.rows[i] ?? 0),
    outputs: result.outputs.map((c) => ({ ...c, values: keep.map((i) => c.values[i] ?? null) })),
  };
}

function modelName(target: ModelTarget): string {
  if ('served' in target) return target.served.name;
  if ('lease' in target) return target.lease.loaded.version.model;
  if ('version' in target) return target.version.model;
  return typeof target.ref === 'string' ? target.ref.split(/[:@]/)[0] ?? target.ref : target.ref.model;
}
