import type { Logger } from 'pino';
import type { Ferry } from '../app.js';
import type { Auth } from './auth.js';
import type { ServeConfig } from './config.js';
import type { Deployments } from '../scoring/deployments.js';
import type { Pipeline } from '../scoring/pipeline.js';
import type { ServingMetrics } from './metrics.js';

/** What every protocol adapter is given (wired once in server.ts). */
export interface ServingContext {
  readonly app: Ferry;
  readonly config: ServeConfig;
  readonly deployments: Deployments;
  /** The one inference pipeline, with this server's `Deployments` (its observers are wired in server.ts). */
  readonly pipeline: Pipeline;
  readonly metrics: ServingMetrics;
  readonly auth: Auth;
  readonly logger: Logger;
  /** Ferry's version, reported by server metadata. */
  readonly version: string;
}
