import type { EdgeEvaluator } from '../types.js';
import { loadPmmlTree } from '../../../runtimes/pmml/pmml-model.js';
import { unpackTree, type PackedElement } from '../../../runtimes/pmml/xml.js';

/**
 * PMML: the document's element tree is the data (its compiled form is closures, not arrays),
 * parsed by the server at export time; the server's compiler and PMML model run inside the
 * package, which carries no XML parser.
 */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => loadPmmlTree(unpackTree(JSON.parse(new TextDecoder().decode(data)) as PackedElement), label),
};
