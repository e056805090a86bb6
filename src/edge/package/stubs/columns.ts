/**
 * Stands in for src/runtimes/sklearn/columns.ts in packages of scikit-learn models without a
 * ColumnTransformer step (src/edge/formats.ts): only a `columns` step reaches it.
 */
import { ferry } from '../../../core/errors.js';
import type { applyColumns as Apply, compileColumns as Compile, tableOf as Table } from '../../../runtimes/sklearn/columns.js';

const absent = (): never => { throw ferry('FERRY_E_INTERNAL', { detail: 'this package was exported without the column-transformer steps' }); };
export const compileColumns: typeof Compile = absent;
export const applyColumns: typeof Apply = absent;
export const tableOf: typeof Table = absent;
