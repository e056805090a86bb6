import type { EdgeEvaluator } from '../types.js';
import { loadDocument, PmmlModel } from '../../../runtimes/pmml/pmml-runtime.js';

/**
 * PMML: the document itself is the data (its compiled form is closures, not arrays); the
 * server's compiler and PmmlModel run inside the package.
 */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => new PmmlModel(loadDocument(data, label), label),
};
