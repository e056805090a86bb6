/**
 * The evaluator of the exported model's format. At bundle time `./evaluator.js` is resolved
 * to one file of ./evaluators/ (src/edge/bundle.ts), so a package carries only its own format.
 */
import type { EdgeEvaluator } from './types.js';

export declare const evaluator: EdgeEvaluator;
