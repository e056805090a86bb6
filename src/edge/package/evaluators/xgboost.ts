import { decodeModel } from '../codec.js';
import type { EdgeEvaluator } from '../types.js';
import { XgboostModel } from '../../../runtimes/xgboost/xgboost-loaded.js';
import type { CompiledModel } from '../../../runtimes/xgboost/xgboost-model.js';

/** XGBoost: the compiled typed arrays, scored by the server's own XgboostModel. */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => new XgboostModel(decodeModel<CompiledModel>(data), label),
};
