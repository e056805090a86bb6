/**
 * Stands in for src/runtimes/pmml/models/regression-batch.ts in packages of PMML documents the
 * server compiled without a batch path (src/edge/narrowing.ts): a RegressionModel's batch kernel is
 * made, as on the server, but nothing scores a batch with it.
 */
import { ferry } from '../../../core/errors.js';
import type { regressionRun as Run } from '../../../runtimes/pmml/models/regression-batch.js';

export const regressionRun: typeof Run = () => () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without a batch path' });
};
