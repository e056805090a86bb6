/**
 * Stands in for src/runtimes/pmml/models/regression-table.ts in packages of PMML documents whose
 * RegressionModels read only tables of NumericPredictors (src/edge/narrowing.ts): those score from
 * their layout, on the server as in the package.
 */
import { ferry } from '../../../core/errors.js';
import type { table as Table } from '../../../runtimes/pmml/models/regression-table.js';

export const table: typeof Table = () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document whose RegressionTables are all numeric' });
};
