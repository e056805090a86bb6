/** The export targets, by `--target` name. Adding a target: one folder and one line here. */
import type { ExportTarget } from './export-target.js';
import { browserTarget } from './browser/browser-target.js';
import { equationTarget } from './equation/equation-target.js';
import { nodeTarget } from './node/node-target.js';
import { sqlTarget } from './sql/sql-target.js';

export const EXPORT_TARGETS: readonly ExportTarget[] = [nodeTarget, browserTarget, sqlTarget, equationTarget];
