import type { FerryError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelVersion } from '../registry/types.js';
import type { ScoredOutputs } from './confidence.js';
import type { ModelDeployment } from './deployment-config.js';
import type { PlanOptions } from './input-plan.js';
import type { LoadedModel, ScoredTensors } from './scorer.js';
import type { Reject } from './tensorize.js';

/** What a mode hands the pipeline: named tensors (OIP, gRPC), or rows of named columns (everything else). */
export type PipelineInput =
  | { readonly kind: 'tensors'; readonly tensors: Readonly<Record<string, Tensor>> }
  | {
    readonly kind: 'frame';
    readonly frame: Frame;
    readonly plan?: PlanOptions | undefined;
    /** Rows an input stage refused (e.g. a required feature is missing): not scored, returned as rejects. */
    readonly refused?: readonly Reject[] | undefined;
  };

/** Who asked: a protocol, a mode, or a monitoring command. Observers decide by it (the log records it). */
export type ScoreSource =
  | 'oip-rest' | 'oip-grpc' | 'mlflow' | 'kserve-v1'
  | 'cli' | 'batch' | 'stream' | 'edge'
  | 'evaluate' | 'compare' | 'profile' | 'drift';

/** The sources that are network protocols (the server's request metrics count these). */
export const PROTOCOL_SOURCES: ReadonlySet<ScoreSource> = new Set(['oip-rest', 'oip-grpc', 'mlflow', 'kserve-v1']);

/** What is known about a run before it is scored (observers say here what they will need). */
export interface RunInfo {
  readonly source: ScoreSource;
  readonly version: ModelVersion;
  /** The model's deployment settings, when it was reached through `Deployments`. */
  readonly deployment: ModelDeployment | undefined;
  /** The mode's own prediction-log share (batch and stream `--log-predictions`); undefined = the deployment's `log:`. */
  readonly log: number | undefined;
}

/**
 * One scored run, handed to every observer once, after the model answered. Everything is
 * by reference (no copies): observers must not change it, and queue any slow work.
 */
export interface ScoredEvent extends RunInfo {
  readonly requestId: string | undefined;
  /** The pointer the caller asked for (version or alias); undefined = routed (route or canary). */
  readonly pointer: string | undefined;
  /** The input as scored (after input stages). */
  readonly input: PipelineInput;
  /** Scored rows; for a Frame, `frameRows` names them (rejected rows are left out). */
  readonly rows: number;
  readonly frameRows: readonly number[] | undefined;
  /** For a Frame, the tensors its scored rows became (rows in `frameRows` order), when known. */
  readonly inputTensors?: ScoredTensors | undefined;
  /** Every output that was scored (the requested ones, plus the probability output when confidence needed it). */
  readonly outputs: ScoredOutputs;
  /** The outputs the caller asked for (undefined = all). */
  readonly requested: readonly string[] | undefined;
  /** Outputs added by output stages, by stage name. */
  readonly extras: Readonly<Record<string, ScoredOutputs>> | undefined;
  /** Top-class probability per row, computed once when the caller or the deployment's `confidence.min` needs it. */
  readonly confidence: Float64Array | undefined;
  /** From the call to the answer (ms), and the part spent waiting for a batch. */
  readonly latencyMs: number;
  readonly queueMs: number;
  /** The caller can wait (batch): an observer should hold it up rather than drop the event. */
  readonly lossless: boolean;
  /** Runs scored elsewhere (an edge package's report): the ids the scorer gave its rows, which the log keeps. */
  readonly predictionIds?: readonly string[] | undefined;
  /** Runs scored elsewhere: when (epoch ms); now when omitted. */
  readonly at?: number | undefined;
}

/** A run that failed (the model may not even have been found). */
export interface FailedEvent {
  readonly source: ScoreSource;
  /** The model name asked for. */
  readonly model: string;
  /** The version that was being scored, when it got that far. */
  readonly version: number | undefined;
  readonly error: FerryError;
  readonly latencyMs: number;
}

/** What observers add to the caller's answer. */
export interface ObserverNotes {
  /** One prediction id per scored row, when the run was logged. */
  readonly predictionIds?: readonly string[] | undefined;
}

/**
 * Cross-cutting work after scoring (prediction log, metrics, shadow mirror), registered once
 * at the composition root and called for every mode alike. An observer never fails a run:
 * a throw is swallowed. `scored` returns a promise only for a lossless event.
 *
 * @example
 *   pipeline.observe({ scored: (e) => { counter.inc(e.rows); } });
 */
export interface PipelineObserver {
  /** Whether this observer will want the run's confidence (the probability output is then scored even when not asked for). */
  wantsConfidence?(run: RunInfo): boolean;
  scored?(event: ScoredEvent): ObserverNotes | undefined | Promise<ObserverNotes | undefined>;
  failed?(event: FailedEvent): void;
  /** Write whatever is queued (the end of a batch run waits for it). */
  flush?(): Promise<void>;
}

/** What an input stage sees. */
export interface InputStageContext {
  readonly model: LoadedModel;
  readonly source: ScoreSource;
  readonly deployment: ModelDeployment | undefined;
  readonly input: PipelineInput;
}

/**
 * A step before validation that rewrites the input, e.g. fills feature columns from entity
 * keys (the feature layer). It must return an input of the same kind; a Frame it returns
 * has the same rows in the same order, and may name rows it refuses in `refused`.
 */
export interface InputStage {
  readonly at: 'input';
  readonly name: string;
  prepare(context: InputStageContext): PipelineInput | Promise<PipelineInput>;
}

/** What an output stage sees: the scored run and the caller's options for this stage. */
export interface OutputStageContext {
  readonly model: LoadedModel;
  readonly source: ScoreSource;
  readonly input: PipelineInput;
  readonly rows: number;
  /** Frame rows that were scored (undefined for tensors). */
  readonly frameRows: readonly number[] | undefined;
  readonly outputs: ScoredOutputs;
  /** `request.extras[stage.name]`, as the caller gave it. */
  readonly options: unknown;
}

/**
 * A step after scoring that adds outputs, run only when the request asks for it by name in
 * `extras` (explanations: `extras: { explain: { method: 'treeshap' } }`). What it returns comes
 * back in the result's and the event's `extras[name]`, aligned with the scored rows.
 */
export interface OutputStage {
  readonly at: 'output';
  readonly name: string;
  add(context: OutputStageContext): Promise<ScoredOutputs>;
}

export type PipelineStage = InputStage | OutputStage;
