/**
 * Stands in for src/runtimes/pmml/output-segments.ts in packages of PMML documents without a
 * MiningModel (src/edge/narrowing.ts): only a MiningModel's OutputFields read segment results.
 */
import { ferry } from '../../../core/errors.js';
import type { segmentGetter as Getter } from '../../../runtimes/pmml/output-segments.js';

export const segmentGetter: typeof Getter = () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without a MiningModel' });
};
