import type { Ferry } from '../app.js';
import { asFerryError, type FerryError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { elementAt, type Tensor } from '../core/tensor.js';
import type { ShadowResult } from '../registry/types.js';
import type { PlanOptions } from '../scoring/input-plan.js';
import type { OutputValue } from '../scoring/outputs.js';
import type { ScoreResult } from '../scoring/scorer.js';
import type { ModelServeConfig } from './config.js';
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
}

/** The answer, in the shape of the input: tensors for tensors, columns for a frame. */
export type InferResult =
  | { readonly kind: 'tensors'; readonly model: string; readonly version: number; readonly outputs: Readonly<Record<string, Tensor>> }
  | { readonly kind: 'frame'; readonly model: string; readonly version: number; readonly result: ScoreResult };

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
  #shadowFlush: NodeJS.Timeout | undefined;

  constructor(app: Ferry, deployments: Deployments, metrics: ServingMetrics) {
    this.#app = app;
    this.#deployments = deployments;
    this.#metrics = metrics;
  }

  async infer(req: InferRequest): Promise<InferResult> {
    const started = performance.now();
    let version = '';
    try {
      const config = this.#deployments.config(req.model);
      const pointer = req.version ?? pickRoute(config);
      const lease = await this.#deployments.acquire(req.model, pointer);
      version = String(lease.loaded.version.version);
      let result: InferResult;
      try {
        result = await this.#score(lease, req);
      } finally {
        lease.release();
      }
      this.#metrics.requests.labels(req.model, version, req.protocol, '200').inc();
      this.#metrics.requestDuration.labels(req.model, req.protocol).observe((performance.now() - started) / 1000);
      if (req.version === undefined && config.shadow && Math.random() < config.shadow.share) {
        this.#mirror(req, config, result).catch(() => undefined);
      }
      return result;
    } catch (err) {
      const error = asFerryError(err);
      this.#metrics.requests.labels(req.model, version || 'none', req.protocol, String(error.httpStatus)).inc();
      throw error;
    }
  }

  /** Flush recorded shadow results and stop. */
  async close(): Promise<void> {
    if (this.#shadowFlush) clearTimeout(this.#shadowFlush);
    await this.#flushShadow();
  }

  async #score(lease: Lease, req: InferRequest): Promise<InferResult> {
    const { loaded } = lease;
    const outputs = req.outputs && req.outputs.length > 0 ? req.outputs : undefined;
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
    await this.#app.registry.store.recordShadow(batch);
  }
}

/** A canary split picks a pointer at random by weight; otherwise the model's route. */
function pickRoute(config: ModelServeConfig): string {
  const canary = config.canary;
  if (!canary || canary.length === 0) return config.route;
  const total = canary.reduce((s, c) => s + c.weight, 0);
  let r = Math.random() * total;
  for (const c of canary) {
    r -= c.weight;
    if (r < 0) return c.target;
  }
  return canary[canary.length - 1]?.target ?? config.route;
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
    const flatA = values.flat(Infinity as 1) as OutputValue[];
    const flatB = other.flat(Infinity as 1) as OutputValue[];
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
