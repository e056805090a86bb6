import type { RegistryDb } from '../registry/registry-db.js';
import type { Registry } from '../registry/registry.js';
import type { Pipeline } from '../scoring/pipeline.js';

/** What monitoring needs from the composition root: versions, its tables, and the pipeline to score data with. */
export interface MonitoringParts {
  readonly registry: Pick<Registry, 'resolve' | 'store'>;
  readonly database: RegistryDb;
  readonly pipeline: Pick<Pipeline, 'run'>;
}
