// The browser-export test page: parity in the page, then in a Web Worker (client.js),
// with every CSP violation recorded. Results land on window.__edge for the test to read.
import { predict, provenance } from './pkg/index.js';
import { checkParity } from './pkg/check.js';
import { vectors } from './pkg/parity.js';
import { createPredictWorker } from './pkg/client.js';

const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI}`));

async function run() {
  // Probe: the page's policy must forbid eval, or this test would prove nothing.
  let cspEnforced = false;
  try { (0, eval)('1'); } catch { cspEnforced = true; }
  const started = performance.now();
  const page = await checkParity(predict, vectors);
  const pageMs = performance.now() - started;
  // Since navigation start: the page loaded, the model (and any wasm) loaded, the first rows answered.
  const firstAnswerMs = performance.now();
  const worker = createPredictWorker();
  const inWorker = await checkParity((rows, options) => worker.predict(rows, options), vectors);
  let workerError = null;
  try {
    await worker.predict([{ not_a_column: 1 }]);
  } catch (err) {
    workerError = err.code;
  }
  worker.terminate();
  return { page, worker: inWorker, workerError, pageMs, firstAnswerMs, model: provenance.model, violations, cspEnforced };
}

run().then(
  (result) => { window.__edge = result; document.getElementById('out').textContent = JSON.stringify(result); },
  (err) => { window.__edge = { error: String(err && err.stack || err), violations }; },
);
