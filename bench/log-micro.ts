/**
 * Micro-benchmark of the prediction log writer: N one-row entries (30 FP32 features, a label and
 * two probabilities) logged through PredictionLogWriter into a fresh SQLite registry; prints the
 * process CPU per row (all threads: event loop and writer thread) and the event-loop thread's own
 * CPU per row (what a busy server's request thread pays; Linux's per-thread schedstat, so it stays
 * right when other processes share the cores).
 *   npx tsx bench/log-micro.ts [rows]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import type { ModelSignature } from '../src/core/signature.js';
import type { Tensor } from '../src/core/tensor.js';
import { PredictionLogWriter } from '../src/monitoring/prediction-log-writer.js';

const N = Number(process.argv[2] ?? 20_000);
const home = mkdtempSync(join(tmpdir(), 'ferry-logmicro-'));
const app = await openFerry(loadConfig({ FERRY_HOME: home }));
const signature = {
  inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 30] }],
  outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }, { name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
} as unknown as ModelSignature;
// The writer's cost, not its sampling down under overload: this loop logs faster than any server.
const writer = new PredictionLogWriter(app.database, { policy: () => ({ sample: 1 }), shedFrom: 1 });
const tensor = (dtype: string, shape: number[], data: ArrayLike<number | bigint>) => ({ dtype, shape, data }) as unknown as Tensor;

/** CPU time of the calling thread in µs (Linux: /proc/thread-self/schedstat), NaN elsewhere. */
function threadCpuUs(): number {
  if (!existsSync('/proc/thread-self/schedstat')) return Number.NaN;
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
}

async function run(n: number, dry = false): Promise<{ cpu: number; loop: number; main: number }> {
  const t0 = process.cpuUsage();
  const m0 = threadCpuUs();
  let loop = 0;
  for (let i = 0; i < n; i++) {
    const l0 = performance.now();
    const x = new Float32Array(30).map((_, j) => i * 0.001 + j);
    const p = Math.random();
    const entry = {
      model: 'm', version: 1, signature, source: 'oip-rest', rows: 1,
      inputs: { kind: 'tensors', tensors: { input: tensor('float32', [1, 30], x) } },
      outputs: { kind: 'tensors', tensors: { label: tensor('int64', [1], BigInt64Array.of(p > 0.5 ? 1n : 0n)), probabilities: tensor('float32', [1, 2], Float32Array.of(1 - p, p)) } },
      latencyMs: 0.5, confidence: [Math.max(p, 1 - p)],
    } as const;
    const ids = dry ? [] : writer.log(entry);
    loop += performance.now() - l0;
    if (!ids) throw new Error('dropped');
    if (i % 500 === 499) await (writer.stats().queued > 5000 ? writer.flush() : new Promise((r) => setImmediate(r)));
  }
  const f0 = performance.now();
  await writer.flush();
  loop += 0; void f0;
  const used = process.cpuUsage(t0);
  return { cpu: (used.user + used.system) / n, loop: (loop * 1000) / n, main: (threadCpuUs() - m0) / n };
}

await run(5000); // warm up
await run(5000, true);
// The cost of building the entries alone (not logging), subtracted below.
const base = await run(N, true);
const r = await run(N);
r.cpu -= base.cpu;
r.loop -= base.loop;
r.main -= base.main;
const el = performance.eventLoopUtilization();
console.log(`rows ${N}: process CPU ${r.cpu.toFixed(1)} µs/row (all threads, building the entries excluded); event-loop thread ${r.main.toFixed(2)} µs/row; log() ${r.loop.toFixed(2)} µs/row; written ${writer.stats().written}, dropped ${writer.stats().dropped}; elu ${el.utilization.toFixed(2)}`);
await writer.close();
await app.close();
rmSync(home, { recursive: true, force: true });
