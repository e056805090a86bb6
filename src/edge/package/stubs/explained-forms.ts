/**
 * Stands in for src/runtimes/pmml/explained-forms.ts in every package carrying the PMML engine
 * (src/edge/narrowing.ts): a package scores, it does not explain.
 */
import type { explainedForms as Forms } from '../../../runtimes/pmml/explained-forms.js';

export const explainedForms: typeof Forms = () => ({});
