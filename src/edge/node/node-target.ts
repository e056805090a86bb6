import type { ExportTarget } from '../export-target.js';
import { packageFiles, runPackageTest } from '../js-package.js';
import { packageRefusal } from '../formats.js';

/** `--target node`: an ES module package for Node ≥ 18 (also importable by bundlers). */
export const nodeTarget: ExportTarget = {
  name: 'node',
  output: 'folder',
  checked: true,
  refusal: (model) => packageRefusal(model.version.format),
  build: (model, options) => packageFiles(model, 'node', options),
  verify: runPackageTest,
};
