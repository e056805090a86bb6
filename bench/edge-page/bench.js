// `npm run bench:edge` in Chromium: the exported package's rows/s at batch 1 and at a large
// batch, on its own parity rows (repeated), timed like the Node half of the bench.
import { predict } from './pkg/index.js';
import { vectors } from './pkg/parity.js';

const params = new URLSearchParams(location.search);
const seconds = Number(params.get('seconds') ?? '1');
const big = Number(params.get('rows') ?? '10000');

async function rate(rowsPerCall, call) {
  await call(0); // warm-up
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) await call(calls++);
  return (calls * rowsPerCall) / ((performance.now() - start) / 1000);
}

async function run() {
  const rows = vectors.rows;
  const options = { keys: vectors.keys };
  const many = Array.from({ length: big }, (_, i) => rows[i % rows.length]);
  const batch1 = await rate(1, (i) => predict([rows[i % rows.length]], options));
  const batchN = await rate(big, () => predict(many, options));
  return { batch1, batchN };
}

run().then((r) => { window.__bench = r; }, (e) => { window.__bench = { error: String(e && e.stack || e) }; });
