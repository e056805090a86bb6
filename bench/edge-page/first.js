// `npm run bench:edge` (first.html and first-preload.html): the time from navigation start to the package's first answer (performance.now()
// counts from navigation start), and where it went: until the .wasm was requested, its transfer, from
// its last byte to the instantiated module, and from there to the answer (onnxruntime's start-up, the
// session, one row).
import './marks.js';
import { predict } from './pkg/index.js';
import { vectors } from './pkg/parity.js';

predict([vectors.rows[0]], { keys: vectors.keys }).then(
  () => {
    const first = performance.now();
    const fetches = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm'));
    const wasm = fetches[0];
    window.__first = {
      fetches: fetches.length,
      first,
      fetch: wasm ? wasm.responseEnd - wasm.fetchStart : Number.NaN,
      requested: wasm ? wasm.fetchStart : Number.NaN,
      arrived: wasm ? wasm.responseEnd : Number.NaN,
      instantiated: window.__instantiated ?? Number.NaN,
    };
  },
  (e) => { window.__first = { error: String(e && e.stack || e) }; },
);
