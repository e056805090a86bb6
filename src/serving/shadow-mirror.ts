import { asFerryError, type FerryError } from '../core/errors.js';
import { flattenNested } from '../core/nested.js';
import { elementAt } from '../core/tensor.js';
import type { ShadowResult, ShadowResultStore } from '../monitoring/shadow-store.js';
import type { ScoredOutputs } from '../scoring/confidence.js';
import type { ModelDeployment } from '../scoring/deployment-config.js';
import type { Pipeline } from '../scoring/pipeline.js';
import type { PipelineObserver, ScoredEvent } from '../scoring/pipeline-hooks.js';
import type { OutputValue } from '../scoring/outputs.js';
import type { ServingMetrics } from './metrics.js';

/**
 * The shadow mirror, a pipeline observer: a routed request to a model with `shadow:` is sent
 * again to the shadow target (exactly `share` of them, spread evenly) after the caller has its
 * answer; the two answers are compared and the comparison recorded in batches.
 */
export class ShadowMirror implements PipelineObserver {
  readonly #pipeline: Pipeline;
  readonly #metrics: ServingMetrics;
  readonly #store: Pick<ShadowResultStore, 'record'>;
  readonly #buffer: ShadowResult[] = [];
  readonly #counts = new Map<string, number>();
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(pipeline: Pipeline, metrics: ServingMetrics, store: Pick<ShadowResultStore, 'record'>) {
    this.#pipeline = pipeline;
    this.#metrics = metrics;
    this.#store = store;
  }

  scored(event: ScoredEvent): undefined {
    const deployment = event.deployment;
    const shadow = deployment?.shadow;
    if (event.pointer !== undefined || !deployment || !shadow || !this.#shouldMirror(event.version.model, shadow.share)) return undefined;
    this.#mirror(event, deployment, shadow.target).catch(() => undefined);
    return undefined;
  }

  /** Write the recorded comparisons now. */
  async flush(): Promise<void> {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#buffer.splice(0);
    if (batch.length > 0) await this.#store.record(batch);
  }

  /** Mirror exactly `share` of the requests, spread evenly (deterministic, unlike a coin toss). */
  #shouldMirror(model: string, share: number): boolean {
    const n = this.#counts.get(model) ?? 0;
    this.#counts.set(model, n + 1);
    return Math.floor((n + 1) * share) > Math.floor(n * share);
  }

  async #mirror(event: ScoredEvent, deployment: ModelDeployment, target: string): Promise<void> {
    const model = event.version.model;
    let shadow: Record<string, OutputValue[]> | undefined;
    let error: FerryError | undefined;
    let shadowVersion = 0;
    try {
      const run = await this.#pipeline.run({
        model: { served: deployment, pointer: target }, input: event.input, outputs: event.requested, source: event.source,
        badRows: 'fail', confidence: false, observe: false,
      });
      shadowVersion = run.version;
      shadow = toJson(run.kind === 'tensors' ? { kind: 'tensors', tensors: run.outputs } : { kind: 'columns', columns: run.result.outputs }, undefined);
    } catch (err) {
      error = asFerryError(err);
    }
    const primary = toJson(event.outputs, event.requested);
    const diff = shadow ? maxAbsDiff(primary, shadow) : null;
    this.#metrics.shadowRequests.labels(model, error ? 'error' : diff === 0 ? 'agree' : 'differ').inc();
    this.#buffer.push({
      model, primaryVersion: event.version.version, shadowVersion, requestId: event.requestId ?? '',
      primaryOutput: primary, shadowOutput: shadow ?? null, error: error ? `${error.code}: ${error.message}` : null, maxAbsDiff: diff, at: new Date().toISOString(),
    });
    this.#flushTimer ??= setTimeout(() => { this.flush().catch(() => undefined); }, 200);
  }
}

/** Outputs as JSON values by name (rows in order), only the `wanted` ones when given. */
function toJson(outputs: ScoredOutputs, wanted: readonly string[] | undefined): Record<string, OutputValue[]> {
  const out: Record<string, OutputValue[]> = {};
  if (outputs.kind === 'columns') {
    for (const o of outputs.columns) if (!wanted || wanted.includes(o.name)) out[o.name] = o.values;
  } else {
    for (const [name, t] of Object.entries(outputs.tensors)) if (!wanted || wanted.includes(name)) out[name] = Array.from({ length: t.data.length }, (_, i) => elementAt(t, i));
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
