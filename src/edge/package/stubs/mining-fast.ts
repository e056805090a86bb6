/**
 * Stands in for src/runtimes/pmml/models/mining-fast.ts in packages of PMML documents that score
 * no tree from arrays (src/edge/narrowing.ts): no segment has a numeric form there, so the server
 * finds no fast path either and the segments are scored one by one.
 */
import type { fastPath as Fast } from '../../../runtimes/pmml/models/mining-fast.js';

export const fastPath: typeof Fast = () => undefined;
