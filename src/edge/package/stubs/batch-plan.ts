/**
 * Stands in for src/runtimes/pmml/batch-plan.ts in packages of PMML documents the server compiled
 * without a batch path (src/edge/narrowing.ts): the package's compilation plans none either.
 */
import type { topBatch as Plan } from '../../../runtimes/pmml/batch-plan.js';

export const topBatch: typeof Plan = () => ({});
