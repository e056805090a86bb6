/**
 * Stands in for src/runtimes/pmml/batch-scorer.ts in packages of PMML documents the server compiled
 * without a batch path (src/edge/narrowing.ts): `batchScorer` finds none, as on the server.
 */
import type { batchScorer as Scorer } from '../../../runtimes/pmml/batch-scorer.js';

export const batchScorer: typeof Scorer = () => undefined;
