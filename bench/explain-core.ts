/**
 * TreeSHAP alone (no serving, no xgboost) on the benchmark model, for profiling:
 * `node --cpu-prof --import tsx bench/explain-core.ts`. Prints rows per CPU second.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import { xgboostRuntime } from '../src/runtimes/xgboost/xgboost-runtime.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const F = 30;
const csv = readFileSync(`${ROOT}fixtures/xgboost/breast_bench/input.csv`, 'utf8').trim().split('\n').slice(1);
const base = csv.map((l) => l.split(',').slice(-F).map((v) => (v === '' ? Number.NaN : Number(v))));
const x = new Float64Array(ROWS * F);
for (let r = 0; r < ROWS; r++) x.set(base[r % base.length]!, r * F);
const runtime = await xgboostRuntime.load(readFileSync(`${ROOT}fixtures/xgboost/breast_bench/model.json`), {}, 'bench');
const s = await runtime.structure?.();
if (s?.kind !== 'trees') throw new RangeError('no tree structure');
const e = new TreeExplainer(s, 'bench');
await e.explain(x.subarray(0, 100 * F), 100);
let calls = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
while (performance.now() - t0 < SECONDS * 1000 || calls === 0) {
  await e.explain(x, ROWS);
  calls++;
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ rowsPerCpuSecond: Math.round((ROWS * calls) / ((cpu.user + cpu.system) / 1e6)), rowsPerSecond: Math.round((ROWS * calls) / ((performance.now() - t0) / 1000)) }));
