/**
 * Stands in for src/runtimes/sklearn/convert/boosters.ts in packages of scikit-learn models that
 * hold no XGBoost estimator (src/edge/formats.ts): its snapshot reader serves wrapped boosters only.
 */
import { ferry } from '../../../core/errors.js';
import type { snapshotModel as Snapshot } from '../../../runtimes/sklearn/convert/boosters.js';

export const snapshotModel: typeof Snapshot = () => { throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported without the XGBoost evaluator' }); };
