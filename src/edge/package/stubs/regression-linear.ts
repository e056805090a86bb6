/**
 * Stands in for src/runtimes/pmml/models/regression-linear.ts in every package carrying the PMML
 * engine (src/edge/narrowing.ts): only explanations and the SQL export read a linear form, and a
 * package scores.
 */
import type { explainedLink as Link, linearKernel as Kernel } from '../../../runtimes/pmml/models/regression-linear.js';

export const linearKernel: typeof Kernel = () => undefined;
export const explainedLink: typeof Link = () => undefined;
