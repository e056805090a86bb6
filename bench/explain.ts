/**
 * `npm run bench:explain`: TreeSHAP rows/s on the 100-tree, depth-6, 30-feature benchmark model
 * (fixtures/xgboost/breast_bench) at batch BENCH_ROWS (default 10 000), beside xgboost 1.7's own
 * `pred_contribs` single-threaded (`/usr/bin/python3` subprocess, nthread=1, only the predict call
 * timed) on the very same float values, in the same run; then the serving cost of explanations:
 * OIP requests of one row at concurrency 8 against a real `ferry serve`, without and with
 * `parameters.explain` (both warmed up, then in alternating rounds). Prints a Markdown table and writes it to bench/results/explain.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import { xgboostRuntime } from '../src/runtimes/xgboost/xgboost-runtime.js';
import { ferryCli } from '../test/helpers/env.js';
import { startServe } from '../test/helpers/server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = 8;
const MODEL = join(ROOT, 'fixtures/xgboost/breast_bench/model.json');
const F = 30;

async function treeShapRate(x: Float64Array, rows: number): Promise<{ wall: number; cpu: number }> {
  const runtime = await xgboostRuntime.load(readFileSync(MODEL), {}, 'bench');
  const s = await runtime.structure?.();
  if (s?.kind !== 'trees') throw new RangeError('the benchmark model has no tree structure');
  const e = new TreeExplainer(s, 'bench');
  await e.explain(x.subarray(0, 100 * F), 100); // warm-up
  let calls = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - started < SECONDS * 1000 || calls === 0) {
    await e.explain(x, rows);
    calls++;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (rows * calls) / ((performance.now() - started) / 1000), cpu: (rows * calls) / ((cpu.user + cpu.system) / 1e6) };
}

/** Requests of one kind at concurrency 8: latencies (ms) and the seconds they took. */
async function round(url: string, explain: boolean, rows: Float32Array, n: number): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const body = (i: number): string => JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, F], data: Array.from(rows.subarray((i % 569) * F, (i % 569) * F + F)) }],
    ...(explain ? { parameters: { explain: true } } : {}),
  });
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      const res = await fetch(`${url}/v2/models/bench/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) });
      if (res.status !== 200) throw new RangeError(`HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/**
 * Predict and predict + explain, each warmed up first, then in 4 rounds of both, each kind first in
 * two of them (so a change of the machine's load falls on both alike); REQUESTS of each kind in all.
 */
async function serving(url: string, rows: Float32Array): Promise<Record<'plain' | 'explained', { rps: number; p50: number; p99: number }>> {
  await round(url, false, rows, 200);
  await round(url, true, rows, 200);
  const all = { plain: { latencies: [] as number[], seconds: 0 }, explained: { latencies: [] as number[], seconds: 0 } };
  // Whichever kind runs first in a round measured slower (≈ 20 %, either way round): the order alternates.
  for (let r = 0; r < 4; r++) {
    for (const kind of r % 2 === 0 ? ['plain', 'explained'] as const : ['explained', 'plain'] as const) {
      const got = await round(url, kind === 'explained', rows, Math.ceil(REQUESTS / 4));
      all[kind].latencies.push(...got.latencies);
      all[kind].seconds += got.seconds;
    }
  }
  const summary = (k: { latencies: number[]; seconds: number }) => {
    k.latencies.sort((a, b) => a - b);
    return { rps: k.latencies.length / k.seconds, p50: k.latencies[Math.floor(k.latencies.length / 2)]!, p99: k.latencies[Math.floor(k.latencies.length * 0.99)]! };
  };
  return { plain: summary(all.plain), explained: summary(all.explained) };
}

async function main(): Promise<void> {
  const dir = join(tmpdir(), `ferry-bench-explain-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const data = join(dir, 'rows.f32');
    const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(ROOT, 'bench/lib/xgboost_contribs.py'), MODEL, data, String(SECONDS), String(ROWS)], { encoding: 'utf8' })) as { version: string; rowsPerSecond: number; rowsPerCpuSecond: number };
    const buf = readFileSync(data);
    const x32 = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const ours = await treeShapRate(Float64Array.from(x32), ROWS);

    const home = join(dir, 'home');
    const env = { FERRY_HOME: home };
    const reg = await ferryCli(['register', MODEL, '--name', 'bench'], env);
    if (reg.code !== 0) throw new RangeError(reg.stderr);
    const server = await startServe(env, ['--grpc-port', 'off']);
    let plain;
    let explained;
    try {
      ({ plain, explained } = await serving(server.url, x32));
    } finally {
      await server.stop();
    }
    const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const table = [
      `TreeSHAP, breast_bench (100 trees, depth 6, 30 features), batch ${f(ROWS)}, one thread:`,
      '',
      '| explainer | rows/s (wall) | rows per CPU second | ratio (wall) | ratio (CPU) |',
      '|---|---:|---:|---:|---:|',
      `| xgboost ${ref.version} \`pred_contribs\` (C++, nthread=1) | ${f(ref.rowsPerSecond)} | ${f(ref.rowsPerCpuSecond)} | 1.00× | 1.00× |`,
      `| Ferry TreeSHAP (float64) | ${f(ours.wall)} | ${f(ours.cpu)} | ${f(ours.wall / ref.rowsPerSecond, 2)}× | ${f(ours.cpu / ref.rowsPerCpuSecond, 2)}× |`,
      '',
      `Serving cost of \`parameters.explain\` (OIP REST, 1 row per request, concurrency ${CONCURRENCY}, ${f(REQUESTS)} requests each after 200 of each to warm up, in 4 alternating rounds):`,
      '',
      '| request | req/s | p50 ms | p99 ms |',
      '|---|---:|---:|---:|',
      `| predict | ${f(plain.rps)} | ${f(plain.p50, 2)} | ${f(plain.p99, 2)} |`,
      `| predict + explain | ${f(explained.rps)} | ${f(explained.p50, 2)} | ${f(explained.p99, 2)} |`,
      `| explain / predict | ${f(explained.rps / plain.rps, 2)}× | | |`,
    ].join('\n');
    console.log(table);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/explain.md'), `${table}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
