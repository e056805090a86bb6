/**
 * Stands in for src/runtimes/pmml/models/matrix.ts in packages of PMML documents without a Matrix
 * element (src/edge/narrowing.ts): only a GeneralRegression factor's contrast Matrix reaches it.
 */
import { ferry } from '../../../core/errors.js';
import type { pmmlMatrix as Matrix } from '../../../runtimes/pmml/models/matrix.js';

export const pmmlMatrix: typeof Matrix = () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without a Matrix' });
};
