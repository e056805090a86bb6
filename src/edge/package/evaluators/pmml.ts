import type { EdgeEvaluator } from '../types.js';
import { loadPmmlModel } from '../../../runtimes/pmml/pmml-model.js';

/**
 * PMML: the document itself is the data (its compiled form is closures, not arrays); the
 * server's compiler and PMML model run inside the package.
 */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => loadPmmlModel(data, label),
};
