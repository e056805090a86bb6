/**
 * Stands in for src/runtimes/lightgbm/lightgbm-text.ts in packages of scikit-learn models that
 * hold no LightGBM estimator (src/edge/formats.ts): its model-text parser serves wrapped boosters only.
 */
import { ferry } from '../../../core/errors.js';
import type { compileLightgbm as Compile } from '../../../runtimes/lightgbm/lightgbm-text.js';

export const compileLightgbm: typeof Compile = () => { throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported without the LightGBM evaluator' }); };
