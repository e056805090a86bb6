// `npm run bench:edge`: the time from navigation start to the package's first answer (performance.now()
// counts from navigation start), and how long the .wasm took to arrive.
import { predict } from './pkg/index.js';
import { vectors } from './pkg/parity.js';

predict([vectors.rows[0]], { keys: vectors.keys }).then(
  () => {
    const first = performance.now();
    const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'));
    window.__first = { first, fetch: wasm ? wasm.responseEnd - wasm.fetchStart : Number.NaN };
  },
  (e) => { window.__first = { error: String(e && e.stack || e) }; },
);
