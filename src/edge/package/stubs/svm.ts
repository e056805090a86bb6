/**
 * Stands in for src/runtimes/sklearn/svm.ts in packages of scikit-learn models whose estimator
 * is not a kernel SVM (src/edge/formats.ts): only an `svm` estimator reaches it.
 */
import { ferry } from '../../../core/errors.js';
import type { compileSvm as Compile, scoreSvm as Score } from '../../../runtimes/sklearn/svm.js';

const absent = (): never => { throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported without the SVM evaluator' }); };
export const compileSvm: typeof Compile = absent;
export const scoreSvm: typeof Score = absent;
