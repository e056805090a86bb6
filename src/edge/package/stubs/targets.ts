/**
 * Stands in for src/runtimes/pmml/targets.ts in packages of PMML documents without a Targets
 * element (src/edge/narrowing.ts): the compiler reaches `compileTargets` only for one.
 */
import { ferry } from '../../../core/errors.js';
import type { compileTargets as Compile } from '../../../runtimes/pmml/targets.js';

export const compileTargets: typeof Compile = () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without Targets' });
};
