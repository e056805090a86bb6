/**
 * Stands in for src/runtimes/pmml/models/tree-arrays.ts in packages of PMML documents that score
 * no tree from arrays (src/edge/narrowing.ts): no batch path and no MiningModel combining trees'
 * results (its fast path walks their arrays). The trees are walked node by node, as the server walks them.
 */
import type { arrayForm as Form } from '../../../runtimes/pmml/models/tree-arrays.js';

export const arrayForm: typeof Form = () => undefined;
