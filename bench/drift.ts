/**
 * Drift speed: a reference profile of 5 000 rows × 30 features against 100 000 logged
 * predictions, on the embedded SQLite registry. Reports the time to read and decode the log
 * window and the time of the drift tests themselves, for the default tests (Wasserstein and
 * Jensen–Shannon: reference > 1000 rows) and for KS/chi-square (a 1 000-row reference).
 * Inputs are logged as the server logs a tensor row: packed float32 (log-encode.ts).
 *
 *   npx tsx bench/drift.ts [--rows 100000]
 *
 * Writes bench/results/drift.md.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { ColumnFrame, type Cell } from '../src/core/frame.js';
import { profileDrift } from '../src/monitoring/drift.js';
import { driftReport, readLogWindow } from '../src/monitoring/drift-run.js';
import { logColumns } from '../src/monitoring/log-columns.js';
import { insertPredictions } from '../src/monitoring/prediction-log-store.js';
import { storeReference } from '../src/monitoring/profile-store.js';

const ROWS = Number(process.argv[process.argv.indexOf('--rows') + 1] || 0) || 100_000;
const root = new URL('..', import.meta.url).pathname;
const [head = '', ...lines] = readFileSync(join(root, 'fixtures/models/breast_mlp/input.csv'), 'utf8').trim().split('\n');
const columns = head.split(',').slice(1);
const base = lines.map((l) => l.split(',').slice(1).map(Number));

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
/** A row near a random fixture row (±5 % noise per feature), optionally shifted. */
const row = (shift = 1) => (base[Math.floor(rand() * base.length)] as number[]).map((v) => v * (0.95 + 0.1 * rand()) * shift);

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-drift-'));
const env = { FERRY_HOME: home, FERRY_ACTOR: 'bench' };
const app = await openFerry(loadConfig(env));
const results: string[][] = [];
try {
  const version = await app.registry.register({ path: join(root, 'fixtures/models/breast_mlp/model.onnx'), name: 'bench', actor: 'bench' });
  const frameOf = (n: number) => {
    const rows = Array.from({ length: n }, () => row());
    return new ColumnFrame(new Map<string, Cell[]>(columns.map((c, j) => [c, rows.map((r) => r[j] as number)])), n);
  };
  const t0 = performance.now();
  for (let start = 0; start < ROWS; start += 10_000) {
    const n = Math.min(10_000, ROWS - start);
    await insertPredictions(app.database, Array.from({ length: n }, (_, i) => {
      const values = row(start + i > ROWS / 2 ? 1.05 : 1);
      return { id: `b-${start + i}`, model: 'bench', version: 1, at: Date.now() - ROWS + start + i, source: 'bench', inputs: JSON.stringify({ '@input': `float32:${Buffer.from(Float32Array.from(values).buffer).toString('base64')}` }), outputs: JSON.stringify({ label: 1, probabilities: [0.2, 0.8] }), latencyMs: 1, confidence: null, lowConfidence: false };
    }));
  }
  console.log(`logged ${ROWS} predictions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  for (const refRows of [5000, 1000]) {
    const stored = await storeReference(app, version, frameOf(refRows), `synthetic ${refRows}`, [], 'bench');
    // End to end, as `ferry monitor drift --last N` runs it (twice: the first run warms up).
    let total = 0;
    let cpu = 0;
    let report;
    let hold = 0;
    for (let i = 0; i < 2; i++) {
      const s = performance.now();
      const c = process.cpuUsage();
      // The longest the event loop was held during the call (what a server's other requests would wait).
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      report = await driftReport(app, version, { kind: 'log', last: ROWS });
      delay.disable();
      hold = delay.max / 1e6;
      total = performance.now() - s;
      const used = process.cpuUsage(c);
      cpu = (used.user + used.system) / 1000;
    }
    // As a server runs it: decoding and tests in the drift thread, only page reads on the event loop.
    let serverTotal = 0;
    let serverHold = 0;
    for (let i = 0; i < 2; i++) {
      const s = performance.now();
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      await driftReport(app, version, { kind: 'log', last: ROWS, offThread: true });
      delay.disable();
      serverHold = delay.max / 1e6;
      serverTotal = performance.now() - s;
    }
    // The parts: reading + decoding the window, and the tests alone.
    const r0 = performance.now();
    const preds = (await readLogWindow(app, 'bench', 1, undefined, ROWS)).rows;
    const { inputs, outputs } = logColumns(preds, stored.inputs);
    const r1 = performance.now();
    profileDrift(stored.profile, inputs, outputs);
    const r2 = performance.now();
    const tests = [...new Set(report?.features.features.map((f) => f.test))].join(', ');
    results.push([String(refRows), tests, String(ROWS), '30 + 3 outputs', (total / 1000).toFixed(3), (cpu / 1000).toFixed(3), hold.toFixed(0), (serverTotal / 1000).toFixed(3), serverHold.toFixed(0), ((r1 - r0) / 1000).toFixed(3), ((r2 - r1) / 1000).toFixed(3)]);
  }
} finally {
  await app.close();
  rmSync(home, { recursive: true, force: true });
}

const header = ['reference rows', 'tests', 'logged rows', 'columns', 'end to end (s)', 'end to end, CPU (s)', 'longest event-loop hold (ms)', 'in a server: end to end (s)', 'in a server: longest hold (ms)', 'read + decode log (s)', 'drift tests (s)'];
const table = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...results.map((r) => `| ${r.join(' | ')} |`)].join('\n');
console.log(table);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/drift.md'), `# Drift speed\n\n\`npx tsx bench/drift.ts\` on ${new Date().toISOString().slice(0, 10)}, embedded SQLite registry, Node ${process.version}; ${ROWS} logged predictions × 30 features (plus 3 output columns).\n\n${table}\n\n"end to end" is \`ferry monitor drift <ref> --last ${ROWS}\` without process start: reading the window from the prediction log, decoding its JSON, and running every test. "CPU" is the process's CPU time for the same call (user + system): on a busy shared machine it is closer to what a quiet one takes than the wall time is. "longest event-loop hold" is the longest time the event loop was held during that call (monitorEventLoopDelay): what a server's other requests would wait. "in a server" is the same call as the server makes it: decoding and tests in the drift thread (src/monitoring/drift-thread.ts), only the page reads on the event loop.\n`);
