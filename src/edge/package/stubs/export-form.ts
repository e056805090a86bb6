/**
 * Stands in for src/runtimes/pmml/export-form.ts in every package carrying the PMML engine
 * (src/edge/narrowing.ts): a package scores its document, it does not export it again.
 */
import type { exportFormOf as Form } from '../../../runtimes/pmml/export-form.js';

export const exportFormOf: typeof Form = () => 'an exported package does not export its model again';
