import { decodeModel } from '../codec.js';
import type { EdgeEvaluator } from '../types.js';
import { LightgbmModel } from '../../../runtimes/lightgbm/lightgbm-loaded.js';
import type { LgbmModel } from '../../../runtimes/lightgbm/lightgbm-model.js';

/** LightGBM: the compiled typed arrays, scored by the server's own LightgbmModel. */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => new LightgbmModel(decodeModel<LgbmModel>(data), label),
};
