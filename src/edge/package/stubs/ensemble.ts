/**
 * Stands in for src/runtimes/pmml/models/ensemble.ts in packages of PMML documents the server
 * compiled without a batch path (src/edge/narrowing.ts): no flat ensemble is built, as on the server
 * none is scored, and the rows take the general path the server's rows take.
 */
import type { compileEnsemble as Compile } from '../../../runtimes/pmml/models/ensemble.js';

export const compileEnsemble: typeof Compile = () => undefined;
