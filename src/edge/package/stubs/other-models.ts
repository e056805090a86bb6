/**
 * Stands in for src/runtimes/sklearn/other-models.ts in packages of scikit-learn models whose
 * estimator is linear or a tree ensemble (src/edge/formats.ts): the MLP, naive Bayes, k-nearest
 * neighbours and wrapped-booster evaluators are reached only by an estimator of those kinds.
 */
import { ferry } from '../../../core/errors.js';
import type { compileOther as Compile, scoreOther as Score } from '../../../runtimes/sklearn/other-models.js';

const absent = (): never => { throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported without the evaluator of this estimator kind' }); };
export const compileOther: typeof Compile = absent;
export const scoreOther: typeof Score = absent;
