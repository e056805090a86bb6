import type { Logger } from 'pino';
import type { Ferry } from '../app.js';
import type { PredictionLogWriter } from '../monitoring/prediction-log-writer.js';
import type { Auth } from './auth.js';
import type { ServeConfig } from './config.js';
import type { Deployments } from './deployments.js';
import type { InferenceService } from './inference.js';
import type { ServingMetrics } from './metrics.js';

/** What every protocol adapter is given (wired once in server.ts). */
export interface ServingContext {
  readonly app: Ferry;
  readonly config: ServeConfig;
  readonly deployments: Deployments;
  readonly inference: InferenceService;
  /** The prediction log writer (models without `log:` are not logged). */
  readonly predictionLog: PredictionLogWriter;
  readonly metrics: ServingMetrics;
  readonly auth: Auth;
  readonly logger: Logger;
  /** Ferry's version, reported by server metadata. */
  readonly version: string;
}
