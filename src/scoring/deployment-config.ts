import type { TrafficRoute } from '../registry/types.js';
import type { BatchPolicy } from './batcher.js';
import type { ConfidenceSpec } from './confidence.js';

/** One weighted route of a canary split: a pointer (`latest`, an alias or a version number). */
export type CanaryRoute = TrafficRoute;

/**
 * How one model is deployed (ferry.yaml `models:` entry or `defaults:`): which versions are
 * kept loaded, where an unversioned request goes, and the policies the pipeline and its
 * observers apply to it (batching, cache, confidence, prediction log, shadow).
 */
export interface ModelDeployment {
  readonly name: string;
  /** `eager`: load at start; `lazy`: on first request. */
  readonly load: 'eager' | 'lazy';
  /** Pointers served: `latest`, aliases, version numbers. Undefined = latest + every alias. */
  readonly versions: readonly string[] | undefined;
  /** What a request without a version gets (when no canary is set). */
  readonly route: string;
  readonly warmup: boolean;
  readonly batching: BatchPolicy | undefined;
  /** Response cache size in bytes; undefined = off. */
  readonly cacheBytes: number | undefined;
  readonly canary: readonly CanaryRoute[] | undefined;
  readonly shadow: { readonly target: string; readonly share: number } | undefined;
  /**
   * Prediction log: share of requests logged (0..1); undefined = not logged. `explain`: share of
   * requests (0..1) explained for the log when they did not ask for an explanation themselves.
   */
  readonly log: { readonly sample: number; readonly explain?: number | undefined } | undefined;
  /** Confidence score of a classifier (top-class probability); undefined = found from the signature, not in responses. */
  readonly confidence: ConfidenceSpec | undefined;
}

/** Which models `Deployments` keeps, and how often it re-reads the registry. */
export interface DeploymentsConfig {
  /** How often aliases are checked for moves (ms). */
  readonly pollIntervalMs: number;
  /** Explicitly requested versions (`/versions/3`) kept loaded per model beyond the configured pointers; the least recently used idle one goes first. */
  readonly maxOnDemandVersions: number;
  /**
   * How long a request waits for a version that is still loading (a cold start, a lazy model) before
   * it is answered FERRY_E_MODEL_NOT_READY (503, Retry-After); the load goes on. Undefined = until it is loaded.
   */
  readonly coldStartWaitMs?: number | undefined;
  /** Explicit model list; undefined = every registered model with the defaults. */
  readonly models: readonly ModelDeployment[] | undefined;
  readonly defaults: Omit<ModelDeployment, 'name'>;
  /**
   * Whether a model's traffic setting in the registry (`ferry traffic set`) replaces its
   * configured `canary`/`shadow`: true for servers; a stream consumer follows one pointer.
   */
  readonly registryTraffic: boolean;
}

/** Everything off: what a model gets when nothing is configured for it. */
export const DEFAULT_DEPLOYMENT: Omit<ModelDeployment, 'name'> = Object.freeze({
  load: 'eager', versions: undefined, route: 'latest', warmup: true, batching: undefined, cacheBytes: undefined,
  canary: undefined, shadow: undefined, log: undefined, confidence: undefined,
});

/**
 * One model at one pointer, loaded eagerly and followed as its alias moves: what a stream
 * consumer deploys (`ferry stream run churn@champion`).
 *
 * @example
 *   openStreaming(config, singleDeployment('churn', 'champion', 2000), log, …)
 */
export function singleDeployment(model: string, pointer: string, pollIntervalMs: number): DeploymentsConfig {
  return Object.freeze({
    pollIntervalMs,
    maxOnDemandVersions: 4,
    models: [Object.freeze({ ...DEFAULT_DEPLOYMENT, name: model, versions: [pointer], route: pointer })],
    defaults: DEFAULT_DEPLOYMENT,
    registryTraffic: false,
  });
}
