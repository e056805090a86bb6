/**
 * Stands in for src/runtimes/xgboost/xgboost-model.ts in packages of scikit-learn models that
 * hold no XGBoost estimator (src/edge/formats.ts): the sklearn evaluator reaches it only for a
 * wrapped XGBClassifier/XGBRegressor, which such a model does not have.
 */
import { ferry } from '../../../core/errors.js';
import type { compileModel as Compile, computeMargins as Margins, transformMargins as Transform } from '../../../runtimes/xgboost/xgboost-model.js';

const absent = (): never => { throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported without the XGBoost evaluator' }); };
export const compileModel: typeof Compile = absent;
export const computeMargins: typeof Margins = absent;
export const transformMargins: typeof Transform = absent;
