/** The export targets, by `--target` name. Adding a target: one folder and one line here. */
import type { ExportTarget } from './export-target.js';
import { browserTarget } from './browser/browser-target.js';
import { nodeTarget } from './node/node-target.js';

export const EXPORT_TARGETS: readonly ExportTarget[] = [nodeTarget, browserTarget];
