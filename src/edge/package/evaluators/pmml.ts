import type { EdgeEvaluator } from '../types.js';
import { compileDocument } from '../../../runtimes/pmml/document.js';
import { DocumentScorer } from '../../../runtimes/pmml/document-scorer.js';
import { unpackTree, type PackedElement } from '../../../runtimes/pmml/xml.js';

/**
 * PMML: the document's element tree is the data (its compiled form is closures, not arrays),
 * parsed by the server at export time; the server's compiler and document scorer run inside the
 * package, which carries no XML parser. The bundle keeps only the model kernels, expressions,
 * predicates and built-in functions the document uses (`pmmlNarrowing` in src/edge/formats.ts).
 */
export const evaluator: EdgeEvaluator = {
  load: (data, label) => new DocumentScorer(compileDocument(unpackTree(JSON.parse(new TextDecoder().decode(data)) as PackedElement)), label),
};
