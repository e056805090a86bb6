import type { EdgeEvaluator } from '../types.js';
import { compileDocument } from '../../../runtimes/sklearn/compile.js';
import { decodeDocument } from '../../../runtimes/sklearn/document.js';
import { SklearnModel } from '../../../runtimes/sklearn/sklearn-model.js';

/** scikit-learn: the registered model document (the pickle already translated), compiled and scored by the server's own SklearnModel. */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => new SklearnModel(compileDocument(decodeDocument(data)), label),
};
