import { explainedOf } from '../scoring/explain-stage.js';
import type { PipelineObserver, RunInfo, ScoredEvent } from '../scoring/pipeline-hooks.js';
import type { LogPolicy, LogStats, PredictionEntry, PredictionLogWriter } from './prediction-log-writer.js';

/**
 * The prediction log as a pipeline observer: every scored run whose mode logs (batch and stream
 * `--log-predictions` share) or whose deployment has `log:` is queued for the writer, and the
 * caller gets one prediction id per row, and an explained run logs each row's attributions. A
 * lossless run (batch) waits for room instead of dropping. Registered once at the composition root.
 */
export function predictionLogObserver(writer: Pick<PredictionLogWriter, 'log' | 'logWaiting' | 'flush'>): PipelineObserver {
  return {
    // A model logged by its deployment has its probability output scored, so the log has confidence.
    wantsConfidence: (run) => run.log === undefined && (run.deployment?.log?.sample ?? 0) > 0,
    scored(event) {
      const policy = policyOf(event);
      if (!policy || event.rows <= 0) return undefined;
      const entry = entryOf(event, policy);
      if (event.lossless) return writer.logWaiting(entry).then((ids) => (ids ? { predictionIds: ids } : undefined));
      const ids = writer.log(entry);
      return ids ? { predictionIds: ids } : undefined;
    },
    flush: () => writer.flush(),
  };
}

/**
 * A batch chunk's model inputs are logged as the tensors they were scored as (packed, as a
 * served tensor request is): decimal text for every cell cost about five times the run itself.
 * Requests and stream messages keep their cells as sent.
 */
function packed(event: ScoredEvent): boolean {
  return event.source === 'batch' && event.inputTensors !== undefined;
}

function policyOf(run: RunInfo): LogPolicy | undefined {
  if (run.log !== undefined) return run.log > 0 ? { sample: run.log } : undefined;
  const sample = run.deployment?.log?.sample;
  return sample !== undefined && sample > 0 ? { sample, confidence: run.deployment?.confidence } : undefined;
}

/** A request is logged with its own latency; a batch chunk or stream micro-batch splits its time over its rows. */
function entryOf(event: ScoredEvent, policy: LogPolicy): PredictionEntry {
  const { input, rows } = event;
  const perRow = event.source === 'batch' || event.source === 'stream';
  return {
    model: event.version.model,
    version: event.version.version,
    signature: event.version.signature,
    source: event.source,
    rows,
    inputs: input.kind === 'tensors' ? { kind: 'tensors', tensors: input.tensors } : { kind: 'frame', frame: input.frame, rows: event.frameRows ?? [], ...(packed(event) ? { scored: event.inputTensors } : {}) },
    outputs: event.outputs,
    latencyMs: perRow && rows > 0 ? event.latencyMs / rows : event.latencyMs,
    confidence: event.confidence,
    policy,
    explained: explainedOf(event.extras),
    ...(event.predictionIds ? { ids: event.predictionIds } : {}),
    ...(event.at !== undefined ? { at: event.at } : {}),
  };
}

/** The prediction log of a process that may never log (the CLI): the writer opens on the first logged run. */
export interface LazyPredictionLog {
  readonly observer: PipelineObserver;
  /** Open the writer now (a server with a retention to enforce from the start). */
  open(): void;
  /** The writer's counts (all zero while it is not open). */
  stats(): LogStats;
  /** Write what is queued and close the writer (if it was opened). */
  close(): Promise<void>;
}

/**
 * A prediction log opened on first use: batch runs and stream consumers log only when asked
 * (`--log-predictions`, a job's `log:`), so most commands never open the writer.
 */
export function lazyPredictionLog(open: () => PredictionLogWriter): LazyPredictionLog {
  let writer: PredictionLogWriter | undefined;
  let inner: PipelineObserver | undefined;
  const get = () => {
    writer ??= open();
    inner ??= predictionLogObserver(writer);
    return inner;
  };
  return {
    observer: {
      wantsConfidence: (run) => run.log === undefined && (run.deployment?.log?.sample ?? 0) > 0,
      scored: (event) => (policyOf(event) ? get().scored?.(event) : undefined),
      flush: () => writer?.flush() ?? Promise.resolve(),
    },
    open: () => { get(); },
    stats: () => writer?.stats() ?? { queued: 0, written: 0, dropped: 0, failed: 0 },
    close: () => writer?.close() ?? Promise.resolve(),
  };
}
