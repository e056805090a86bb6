/**
 * Stands in for src/runtimes/pmml/models/tree-weighted.ts in packages of PMML documents whose
 * TreeModels use neither weightedConfidence nor aggregateNodes (src/edge/narrowing.ts): their walks
 * never reach it.
 */
import { ferry } from '../../../core/errors.js';
import type { distribution as Distribution, weightedPrediction as Weighted } from '../../../runtimes/pmml/models/tree-weighted.js';

const never = (): never => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without weighted tree strategies' });
};

export const distribution: typeof Distribution = never;
export const weightedPrediction: typeof Weighted = never;
