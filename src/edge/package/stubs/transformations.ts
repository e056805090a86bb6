/**
 * Stands in for src/runtimes/pmml/transformations.ts in packages of PMML documents without a
 * TransformationDictionary (src/edge/narrowing.ts): the compiler reaches it only for one.
 */
import { ferry } from '../../../core/errors.js';
import type { compileTransformations as Compile } from '../../../runtimes/pmml/transformations.js';

export const compileTransformations: typeof Compile = () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without a TransformationDictionary' });
};
