import type { Ferry } from '../app.js';
import { asFerryError, type FerryError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { flattenNested } from '../core/nested.js';
import { elementAt, type Tensor } from '../core/tensor.js';
import { confidenceOf, confidenceOutput, type ScoredOutputs } from '../monitoring/log-confidence.js';
import type { PredictionLogger } from '../monitoring/prediction-log-writer.js';
import type { ModelVersion } from '../registry/types.js';
import { ShadowResultStore, type ShadowResult } from '../monitoring/shadow-store.js';
import type { PlanOptions } from '../scoring/input-plan.js';
import type { OutputValue } from '../scoring/outputs.js';
import type { ScoreResult } from '../scoring/scorer.js';
import type { CanaryRoute, ModelServeConfig } from './config.js';
import type { Deployments, Lease } from './deployments.js';
import type { ServingMetrics } from './metrics.js';

export type Protocol = 'oip-rest' | 'oip-grpc' | 'mlflow' | 'kserve-v1';

/** What a protocol adapter hands over: named tensors, or rows of named columns. */
export type InferInput =
  | { readonly kind: 'tensors'; readonly tensors: Readonly<Record<string, Tensor>> }
  | { readonly kind: 'frame'; readonly frame: Frame; readonly plan?: PlanOptions };

export interface InferRequest {
  readonly model: string;
  /** A version number or alias; undefined → the model's route (or canary split). */
  readonly version?: string | undefined;
  readonly input: InferInput;
  /** Only these outputs (all when omitted). */
  readonly outputs?: readonly string[] | undefined;
  readonly protocol: Protocol;
  readonly requestId: string;
  /** Ask for the confidence score (undefined = the model's `confidence.respond`). */
  readonly confidence?: boolean | undefined;
}

/** What monitoring adds to an answer. */
export interface InferExtras {
  /** One id per row when the request was logged (prediction log on, sampled in, buffer not full). */
  readonly predictionIds?: readonly string[] | undefined;
  /** Top-class probability per row, when asked for and the model has a probability output. */
  readonly confidence?: Float64Array | undefined;
}

/** The answer, in the shape of the input: tensors for tensors, columns for a frame. */
export type InferResult = InferExtras & (
  | { readonly kind: 'tensors'; readonly model: string; readonly version: number; readonly outputs: Readonly<Record<string, Tensor>> }
  | { readonly kind: 'frame'; readonly model: string; readonly version: number; readonly result: ScoreResult });

/**
 * The one call every protocol makes. Routes the request (version, alias, canary), leases
 * the version, hands the input to the scoring core, mirrors to a shadow, counts metrics.
 * Protocol adapters only translate wire formats.
 */
export class InferenceService {
  readonly #app: Ferry;
  readonly #deployments: Deployments;
  readonly #metrics: ServingMetrics;
  readonly #shadowBuffer: ShadowResult[] = [];
  readonly #routers = new Map<string, TrafficSplit>();
  readonly #shadowCounts = new Map<string, number>();
  #shadowFlush: NodeJS.Timeout | undefined;
  readonly #log: PredictionLogger | undefined;

  constructor(app: Ferry, deployments: Deployments, metrics: ServingMetrics, log?: PredictionLogger) {
    this.#app = app;
    this.#deployments = deployments;
    this.#metrics = metrics;
    this.#log = log;
  }

  async infer(req: InferRequest): Promise<InferResult> {
    const started = performance.now();
    let version = '';
    try {
      const config = this.#deployments.config(req.model);
      const pointer = req.version ?? this.#route(req.model, config);
      const lease = await this.#deployments.acquire(req.model, pointer);
      const served = lease.loaded.version;
      version = String(served.version);
      const wantConfidence = req.confidence ?? config.confidence?.respond ?? false;
      const logged = this.#log?.enabled(req.model) ?? false;
      // The probability output is scored whenever confidence is needed, even if not asked for.
      const extra = wantConfidence || logged ? confidenceOutput(served.signature, config.confidence)?.name : undefined;
      let result: InferResult;
      try {
        result = await this.#score(lease, req, extra);
      } finally {
        lease.release();
      }
      const latencyMs = performance.now() - started;
      if (wantConfidence || logged) result = this.#monitor(req, config, served, result, latencyMs, wantConfidence, extra);
      this.#metrics.countRequest(req.model, version, req.protocol, '200');
      this.#metrics.observeRequest(req.model, req.protocol, latencyMs / 1000);
      if (req.version === undefined && config.shadow && this.#shouldMirror(req.model, config.shadow.share)) {
        this.#mirror(req, config, result).catch(() => undefined);
      }
      return result;
    } catch (err) {
      const error = asFerryError(err);
      // Unknown model names come from URLs: never let them become metric label values.
      const model = error.code === 'FERRY_E_MODEL_NOT_SERVED' ? '(not served)' : req.model;
      this.#metrics.countRequest(model, version || 'none', req.protocol, String(error.httpStatus));
      throw error;
    }
  }

  /** Flush recorded shadow results and stop. */
  async close(): Promise<void> {
    if (this.#shadowFlush) clearTimeout(this.#shadowFlush);
    await this.#flushShadow();
  }

  #route(model: string, config: ModelServeConfig): string {
    if (!config.canary || config.canary.length === 0) return config.route;
    let split = this.#routers.get(model);
    if (!split) {
      split = new TrafficSplit(config.canary);
      this.#routers.set(model, split);
    }
    return split.next();
  }

  /** Mirror exactly `share` of the requests, spread evenly (deterministic, unlike a coin toss). */
  #shouldMirror(model: string, share: number): boolean {
    const n = this.#shadowCounts.get(model) ?? 0;
    this.#shadowCounts.set(model, n + 1);
    return Math.floor((n + 1) * share) > Math.floor(n * share);
  }

  /**
   * Confidence and the prediction log: compute the confidence (for the answer or the log),
   * queue the request for the log (never waits), and drop an output scored only for confidence.
   */
  #monitor(req: InferRequest, config: ModelServeConfig, served: ModelVersion, result: InferResult, latencyMs: number, wantConfidence: boolean, extra: string | undefined): InferResult {
    const outputs: ScoredOutputs = result.kind === 'tensors' ? { kind: 'tensors', tensors: result.outputs } : { kind: 'columns', columns: result.result.outputs };
    const rows = result.kind === 'tensors' ? Object.values(result.outputs)[0]?.shape[0] ?? 0 : result.result.rows.length;
    const confidence = wantConfidence || config.confidence?.min !== undefined ? confidenceOf(confidenceOutput(served.signature, config.confidence), outputs, rows) : undefined;
    const predictionIds = this.#log?.log({
      model: req.model,
      version: served.version,
      signature: served.signature,
      source: req.protocol,
      rows,
      inputs: req.input.kind === 'tensors' ? { kind: 'tensors', tensors: req.input.tensors } : { kind: 'frame', frame: req.input.frame, rows: result.kind === 'frame' ? result.result.rows : [] },
      outputs,
      latencyMs,
      confidence,
    });
    const wanted = req.outputs && req.outputs.length > 0 ? req.outputs : undefined;
    let answer: InferResult = result;
    if (extra !== undefined && wanted && !wanted.includes(extra)) {
      if (result.kind === 'tensors') {
        const kept = { ...result.outputs };
        delete kept[extra];
        answer = { ...result, outputs: kept };
      } else {
        answer = { ...result, result: { ...result.result, outputs: result.result.outputs.filter((o) => o.name !== extra) } };
      }
    }
    return { ...answer, ...(predictionIds ? { predictionIds } : {}), ...(wantConfidence && confidence ? { confidence } : {}) };
  }

  async #score(lease: Lease, req: InferRequest, extraOutput?: string): Promise<InferResult> {
    const { loaded } = lease;
    let outputs = req.outputs && req.outputs.length > 0 ? req.outputs : undefined;
    if (outputs && extraOutput !== undefined && !outputs.includes(extraOutput)) outputs = [...outputs, extraOutput];
    if (req.input.kind === 'tensors') {
      const r = await this.#app.scorer.tensors(loaded, req.input.tensors, { ...(outputs ? { outputs } : {}) });
      if (r.queueMs > 0) this.#metrics.queueDuration.labels(req.model).observe(r.queueMs / 1000);
      return { kind: 'tensors', model: r.model, version: r.version, outputs: r.outputs };
    }
    const r = await this.#app.scorer.frame(loaded, req.input.frame, { ...req.input.plan, ...(outputs ? { outputs } : {}) });
    // Over a protocol a request is all or nothing: the first bad row fails it, naming the row.
    const firstReject = r.rejects[0];
    if (firstReject) throw firstReject.error;
    return { kind: 'frame', model: r.model, version: r.version, result: r };
  }

  /** Send the same input to the shadow target; the caller already has the primary's answer. */
  async #mirror(req: InferRequest, config: ModelServeConfig, primary: InferResult): Promise<void> {
    const target = config.shadow?.target;
    if (!target) return;
    let shadow: InferResult | undefined;
    let error: FerryError | undefined;
    let shadowVersion = 0;
    try {
      const lease = await this.#deployments.acquire(req.model, target);
      shadowVersion = lease.loaded.version.version;
      try {
        shadow = await this.#score(lease, req);
      } finally {
        lease.release();
      }
    } catch (err) {
      error = asFerryError(err);
    }
    const a = toJson(primary);
    const b = shadow ? toJson(shadow) : undefined;
    const diff = b ? maxAbsDiff(a, b) : null;
    this.#metrics.shadowRequests.labels(req.model, error ? 'error' : diff === 0 ? 'agree' : 'differ').inc();
    this.#shadowBuffer.push({
      model: req.model, primaryVersion: primary.version, shadowVersion, requestId: req.requestId,
      primaryOutput: a, shadowOutput: b ?? null, error: error ? `${error.code}: ${error.message}` : null, maxAbsDiff: diff, at: new Date().toISOString(),
    });
    this.#shadowFlush ??= setTimeout(() => { this.#flushShadow().catch(() => undefined); }, 200);
  }

  async #flushShadow(): Promise<void> {
    this.#shadowFlush = undefined;
    const batch = this.#shadowBuffer.splice(0);
    await new ShadowResultStore(this.#app.database).record(batch);
  }
}

/**
 * A canary split: smooth weighted round-robin (as nginx balances upstreams), so 90/10 sends
 * exactly 9 of every 10 requests to the first target, interleaved rather than in runs.
 */
class TrafficSplit {
  readonly #routes: readonly CanaryRoute[];
  readonly #current: number[];
  readonly #total: number;

  constructor(routes: readonly CanaryRoute[]) {
    this.#routes = routes;
    this.#current = routes.map(() => 0);
    this.#total = routes.reduce((s, r) => s + r.weight, 0);
  }

  next(): string {
    let best = 0;
    this.#routes.forEach((r, i) => {
      this.#current[i] = (this.#current[i] ?? 0) + r.weight;
      if ((this.#current[i] ?? 0) > (this.#current[best] ?? 0)) best = i;
    });
    this.#current[best] = (this.#current[best] ?? 0) - this.#total;
    return this.#routes[best]?.target ?? '';
  }
}

/** Outputs as JSON values by name (rows in order). */
function toJson(result: InferResult): Record<string, OutputValue[]> {
  const out: Record<string, OutputValue[]> = {};
  if (result.kind === 'frame') {
    for (const o of result.result.outputs) out[o.name] = o.values;
  } else {
    for (const [name, t] of Object.entries(result.outputs)) out[name] = Array.from({ length: t.data.length }, (_, i) => elementAt(t, i));
  }
  return out;
}

function maxAbsDiff(a: Record<string, OutputValue[]>, b: Record<string, OutputValue[]>): number | null {
  let worst = 0;
  for (const [name, values] of Object.entries(a)) {
    const other = b[name];
    if (!other || other.length !== values.length) return null;
    const flatA = flattenNested(values) ?? [];
    const flatB = flattenNested(other) ?? [];
    if (flatA.length !== flatB.length) return null;
    for (let i = 0; i < flatA.length; i++) {
      const x = flatA[i];
      const y = flatB[i];
      if (typeof x === 'number' && typeof y === 'number') worst = Math.max(worst, Math.abs(x - y));
      else if (x !== y) worst = Math.max(worst, Number.POSITIVE_INFINITY);
    }
  }
  return Number.isFinite(worst) ? worst : null;
}
