/**
 * Stands in for src/runtimes/sklearn/sklearn-structure.ts in every scikit-learn package: a
 * package predicts, it does not explain, so the model structure explainers read is never asked for.
 */
import type { sklearnLinearStructure as Linear, sklearnStructure as Trees } from '../../../runtimes/sklearn/sklearn-structure.js';

export const sklearnStructure: typeof Trees = () => undefined;
export const sklearnLinearStructure: typeof Linear = () => undefined;
