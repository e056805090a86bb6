import type { ExportTarget } from '../export-target.js';
import { packageFiles, runPackageTest } from '../js-package.js';
import { packageRefusal } from '../formats.js';

/**
 * `--target browser`: the node package plus worker.js (a module Web Worker) and client.js
 * (`createPredictWorker()`). No eval, no `new Function`, no inline script: it loads under
 * `Content-Security-Policy: script-src 'self'`. The parity test runs in Node at export time
 * (the same bundle); the tests also run it in headless Chromium, in a page and in a worker.
 */
export const browserTarget: ExportTarget = {
  name: 'browser',
  output: 'folder',
  checked: true,
  refusal: (model) => packageRefusal(model.version.format),
  build: (model, options) => packageFiles(model, 'browser', options, ['worker', 'client']),
  verify: runPackageTest,
};
