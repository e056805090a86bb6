import type { Logger } from 'pino';
import type { MonitoringParts } from '../monitoring/parts.js';
import type { TrafficRecorder } from '../monitoring/traffic.js';
import type { RegistryDb } from '../registry/registry-db.js';
import type { Registry } from '../registry/registry.js';
import type { ModelLoader } from '../scoring/model-loader.js';
import type { Explanations } from '../scoring/explanations.js';
import type { Scorer } from '../scoring/scorer.js';
import type { Auth } from './auth.js';
import type { ServeConfig } from './config.js';
import type { Deployments } from '../scoring/deployments.js';
import type { Pipeline } from '../scoring/pipeline.js';
import type { InputStage } from '../scoring/pipeline-hooks.js';
import type { FeatureLookups } from '../features/lookup.js';
import type { ServingMetrics } from './metrics.js';
import type { ProcessGroup } from './process-group.js';
import type { WebhookDestinations } from '../monitoring/webhook-destinations.js';

/** What the server is built from (the composition root's parts, `openServing`). */
export interface ServingParts {
  /** The one inference pipeline (the prediction log is already one of its observers). */
  readonly pipeline: Pipeline;
  /** The served models, inside that pipeline. */
  readonly deployments: Deployments;
  readonly registry: Registry;
  /** The registry database (prediction log, feedback, alerts). */
  readonly database: RegistryDb;
  readonly loader: ModelLoader;
  readonly scorer: Scorer;
  /** Explanations of scored rows (the `explain` output stage). */
  readonly explanations: Explanations;
  /** Input stages of the pipeline (feature lookups), from the composition root. */
  readonly inputStages?: readonly InputStage[] | undefined;
  /** Feature lookups for `POST /ferry/v1/features/<service>`. */
  readonly featureLookups?: (() => Promise<FeatureLookups>) | undefined;
  /** Where the server's alert webhooks may be posted. */
  readonly webhooks: WebhookDestinations;
}

/**
 * What the dashboard shows of the batch and stream areas, handed in by the composition (the
 * serving layer imports neither): JSON-ready views, bounded by their areas.
 */
export interface OperationsView {
  /** Newest batch runs with progress, and every job with its schedule (batch/overview.ts). */
  batch(limit: number): Promise<{ readonly runs: readonly object[]; readonly jobs: readonly object[] }>;
  /** Status of the consumer groups this server watches (stream/overview.ts). */
  streams(): Promise<readonly object[]>;
}

/**
 * Changes to what is served, made through this process (admin and repository endpoints):
 * applied here and in every other process of the server (`serve --processes`) before they resolve.
 */
export interface ServedChanges {
  /** Re-read the registry (after an alias, promotion or traffic change). */
  refresh(): Promise<void>;
  /** Repository load of a model. */
  load(model: string): Promise<void>;
  /** Repository unload of a model. */
  unload(model: string): Promise<void>;
}

/** What every protocol adapter is given (wired once in server.ts). */
export interface ServingContext {
  readonly app: ServingParts;
  /** What monitoring routes and the alert engine use (the server's pipeline). */
  readonly monitoring: MonitoringParts;
  readonly config: ServeConfig;
  readonly deployments: Deployments;
  /** The one inference pipeline (the composition root's), with the served models' `Deployments`. */
  readonly pipeline: Pipeline;
  readonly metrics: ServingMetrics;
  /** The server's processes (one unless `serve --processes N`): summed metrics. */
  readonly group: ProcessGroup;
  /** Changes to what is served, applied in every process of the server. */
  readonly served: ServedChanges;
  /** Live traffic in memory (the last minutes, per second), fed by a pipeline observer. */
  readonly traffic: TrafficRecorder;
  readonly auth: Auth;
  /** Batch and stream views for the dashboard; undefined when the composition gave none. */
  readonly operations: OperationsView | undefined;
  readonly logger: Logger;
  /** Ferry's version, reported by server metadata. */
  readonly version: string;
}
