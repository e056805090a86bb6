/**
 * Stands in for src/runtimes/pmml/group-scoring.ts in packages of PMML documents without group
 * MiningFields (src/edge/narrowing.ts): the scorer reaches `scoreGroups` only for one.
 */
import { ferry } from '../../../core/errors.js';
import type { scoreGroups as Score } from '../../../runtimes/pmml/group-scoring.js';

export const scoreGroups: typeof Score = () => {
  throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported from a PMML document without group fields' });
};
