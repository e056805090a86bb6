/**
 * `npm run bench:runtimes`: rows/s at batch 1 and batch 10 000 for each model runtime, side by
 * side in one run, on the same 100-tree depth-6 ensemble over the 30 breast-cancer features:
 *
 * - xgboost 1.7's own C++ predict, single-threaded (`/usr/bin/python3` subprocess, nthread=1,
 *   only the predict call timed) on fixtures/xgboost/breast_bench/model.json;
 * - Ferry's XGBoost evaluator on the same file;
 * - Ferry's LightGBM evaluator on the same trees as a LightGBM text model;
 * - onnxruntime (one intra-op thread) on the same trees as an ONNX TreeEnsembleClassifier;
 * - Ferry's PMML evaluator on fixtures/pmml/forest.pmml, when the catalog has a `pmml` runtime
 *   and that fixture exists (a random forest of 100 trees, depth 6, on the same 30 features).
 *
 * - scikit-learn 1.2's own predict_proba, single-threaded (OMP_NUM_THREADS=1, n_jobs=1), beside
 *   Ferry's sklearn runtime on the same joblib files and rows: a RandomForestClassifier (100
 *   trees, default depth) and a HistGradientBoostingClassifier (100 iterations), fitted by
 *   bench/lib/sklearn_predict.py on 10 000 synthetic rows × 30 features; plus the time Ferry
 *   takes to register each file (translate the pickle, then verify and compile the document).
 *
 * Every evaluator scores the very same float values (written by the Python helper). Prints a
 * Markdown table and writes it to bench/results/runtimes.md. BENCH_SECONDS (default 2) is the
 * measuring time of each cell; BENCH_ROWS (default 10000) the large batch.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType } from '../src/core/dtype.js';
import type { Tensor } from '../src/core/tensor.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import type { ModelRuntime } from '../src/runtimes/model-runtime.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const FEATURES = 30;
const BASE_ROWS = 569;
const XGB_MODEL = join(ROOT, 'fixtures/xgboost/breast_bench/model.json');
const ONNX_MODEL = join(ROOT, 'fixtures/xgboost/breast_bench/model.onnx');
const LGB_MODEL = join(ROOT, 'fixtures/lightgbm/breast_bench/model.txt');
const PMML_MODEL = join(ROOT, 'fixtures/pmml/forest.pmml');

interface Row {
  readonly runtime: string;
  readonly model: string;
  /** Rows per wall-clock second. */
  readonly batch1: number;
  readonly batchN: number;
  /** Rows per CPU second of the scoring process (steadier than wall time on a busy machine). */
  readonly batch1Cpu: number;
  readonly batchNCpu: number;
}

interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Calls `fn` for `SECONDS` after one warm-up call; rows per wall-clock and per CPU second. */
async function rate(rowsPerCall: number, fn: (i: number) => Promise<unknown>): Promise<Rate> {
  await fn(0);
  let calls = 0;
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const budget = BigInt(Math.round(SECONDS * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    await fn(calls);
    calls++;
    elapsed = process.hrtime.bigint() - start;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (rowsPerCall * calls) / (Number(elapsed) / 1e9), cpu: (rowsPerCall * calls) / ((cpu.user + cpu.system) / 1e6) };
}

/** The 30 breast-cancer feature names, in the order of the benchmark rows. */
const NAMES = (JSON.parse(readFileSync(XGB_MODEL, 'utf8')) as { learner: { feature_names: string[] } }).learner.feature_names;
const norm = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

/** Where each of `names` is among the benchmark's columns: by name when they all match, else in order. */
function columnOrder(names: readonly string[]): number[] {
  const index = names.map((n) => NAMES.findIndex((b) => norm(b) === norm(n)));
  return index.every((i) => i >= 0) ? index : names.map((_, j) => j);
}

/** The tensors a runtime's signature asks for, from row-major float rows. */
function tensorsFor(runtime: ModelRuntime, x: Float32Array, rows: number): Record<string, Tensor> {
  const inputs = runtime.signature().inputs;
  const cast = (dtype: DType, values: Float32Array): Tensor['data'] => (dtype === 'float64' ? Float64Array.from(values) : values);
  const [only] = inputs;
  if (inputs.length === 1 && only) {
    const order = only.columns ? columnOrder(only.columns) : NAMES.map((_, j) => j);
    const m = new Float32Array(rows * FEATURES);
    for (let r = 0; r < rows; r++) for (let j = 0; j < FEATURES; j++) m[r * FEATURES + j] = x[r * FEATURES + (order[j] ?? j)] ?? Number.NaN;
    return { [only.name]: { dtype: only.dtype, shape: [rows, FEATURES], data: cast(only.dtype, m) } };
  }
  // One input per field (PMML): matched to the benchmark's columns by name, else in signature order.
  const order = columnOrder(inputs.map((i) => i.name));
  const out: Record<string, Tensor> = {};
  inputs.forEach((spec, j) => {
    const col = new Float32Array(rows);
    for (let r = 0; r < rows; r++) col[r] = x[r * FEATURES + (order[j] ?? j)] ?? Number.NaN;
    out[spec.name] = { dtype: spec.dtype, shape: spec.shape.length === 2 ? [rows, 1] : [rows], data: cast(spec.dtype, col) };
  });
  return out;
}

async function measure(runtime: ModelRuntime, x: Float32Array, label: string, model: string): Promise<Row> {
  const big = tensorsFor(runtime, x, ROWS);
  const singles = Array.from({ length: BASE_ROWS }, (_, r) => tensorsFor(runtime, x.subarray(r * FEATURES, (r + 1) * FEATURES), 1));
  const n = await rate(ROWS, () => runtime.predict(big));
  const one = await rate(1, (i) => runtime.predict(singles[i % BASE_ROWS]!));
  const row = { runtime: label, model, batch1: one.wall, batchN: n.wall, batch1Cpu: one.cpu, batchNCpu: n.cpu };
  logRow(row);
  return row;
}

function logRow(r: Row): void {
  log(`${r.runtime.padEnd(36)} batch 1 ${fmt(r.batch1).padStart(9)} rows/s (${fmt(r.batch1Cpu)}/CPU-s)   batch ${ROWS} ${fmt(r.batchN).padStart(10)} rows/s (${fmt(r.batchNCpu)}/CPU-s)`);
}

function fmt(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

function ratio(v: number, base: number): string {
  return base > 0 ? `${(v / base).toFixed(2)}×` : '–';
}

/** The breast_bench fixture's input rows (missing cells as NaN), tiled to ROWS. */
function fixtureRows(): Float32Array {
  const lines = readFileSync(join(ROOT, 'fixtures/xgboost/breast_bench/input.csv'), 'utf8').trim().split('\n').slice(1);
  const x = new Float32Array(ROWS * FEATURES);
  for (let r = 0; r < ROWS; r++) {
    (lines[r % lines.length] ?? '').split(',').slice(1).forEach((cell, j) => {
      x[r * FEATURES + j] = cell === '' ? Number.NaN : Number(cell);
    });
  }
  return x;
}

async function main(): Promise<void> {
  const tmp = join(tmpdir(), `ferry-bench-runtimes-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const dataPath = join(tmp, 'rows.f32');
    log(`xgboost (python3, nthread=1): ${SECONDS} s per cell…`);
    const rows: Row[] = [];
    let x: Float32Array;
    try {
      const out = execFileSync('/usr/bin/python3', [join(ROOT, 'bench/lib/xgboost_predict.py'), XGB_MODEL, dataPath, String(SECONDS), String(ROWS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const ref = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { version: string; batch1: number; batchN: number; batch1Cpu: number; batchNCpu: number };
      const buf = readFileSync(dataPath);
      x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      rows.push({ runtime: `xgboost ${ref.version} C++ predict, 1 thread`, model: 'xgboost/breast_bench/model.json', ...ref });
      logRow(rows[0]!);
    } catch {
      // Without Debian's python3-xgboost and python3-sklearn the other rows still run, on the fixture's rows.
      log('no xgboost row: /usr/bin/python3 with xgboost and sklearn is needed (apt-get install python3-xgboost python3-sklearn)');
      x = fixtureRows();
    }

    const catalog = new RuntimeCatalog();
    const candidates: { format: string; path: string; label: string; options?: object }[] = [
      { format: 'xgboost', path: XGB_MODEL, label: 'Ferry XGBoost evaluator' },
      { format: 'lightgbm', path: LGB_MODEL, label: 'Ferry LightGBM evaluator' },
      { format: 'onnx', path: ONNX_MODEL, label: 'onnxruntime TreeEnsemble, 1 thread', options: { intraOpThreads: 1, interOpThreads: 1 } },
    ];
    if (catalog.formats.includes('pmml') && existsSync(PMML_MODEL)) candidates.push({ format: 'pmml', path: PMML_MODEL, label: 'Ferry PMML evaluator (random forest)' });
    else log('no PMML row: needs the pmml runtime in the catalog and fixtures/pmml/forest.pmml');
    for (const c of candidates) {
      const runtime = await catalog.get(c.format).load(readFileSync(c.path), c.options ?? {}, c.path);
      try {
        rows.push(await measure(runtime, x, c.label, c.path.slice(ROOT.length).replace(/^fixtures\//, '')));
      } finally {
        await runtime.close();
      }
    }

    const xgbRef = rows.find((r) => r.runtime.startsWith('xgboost')) ?? { batch1: 0, batchN: 0 };
    const ferryXgb = rows.find((r) => r.runtime === 'Ferry XGBoost evaluator')!;
    const pmml = rows.find((r) => r.runtime.startsWith('Ferry PMML'));
    const big = ROWS.toLocaleString('en-US');
    const table = [
      `| runtime | model | rows/s, batch 1 | rows/s, batch ${big} | vs xgboost 1 thread (batch 1 / ${big}) | rows per CPU-s, batch 1 / ${big} |`,
      '| :--- | :--- | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.runtime} | ${r.model} | ${fmt(r.batch1)} | ${fmt(r.batchN)} | ${ratio(r.batch1, xgbRef.batch1)} / ${ratio(r.batchN, xgbRef.batchN)} | ${fmt(r.batch1Cpu)} / ${fmt(r.batchNCpu)} |`),
    ].join('\n');
    const targets = [
      xgbRef.batchN > 0
        ? `- Ferry XGBoost ≥ 0.5× xgboost single-thread rows/s: batch ${ROWS} ${ratio(ferryXgb.batchN, xgbRef.batchN)} ${ferryXgb.batchN >= 0.5 * xgbRef.batchN ? '✅' : '❌'}, batch 1 ${ratio(ferryXgb.batch1, xgbRef.batch1)} ${ferryXgb.batch1 >= 0.5 * xgbRef.batch1 ? '✅' : '❌'}`
        : '- Ferry XGBoost ≥ 0.5× xgboost single-thread rows/s: not measured (no python3-xgboost)',
      pmml
        ? `- PMML tree ensemble within 2× of the XGBoost evaluator: batch ${ROWS} ${ratio(pmml.batchN, ferryXgb.batchN)} ${pmml.batchN >= 0.5 * ferryXgb.batchN ? '✅' : '❌'}, batch 1 ${ratio(pmml.batch1, ferryXgb.batch1)} ${pmml.batch1 >= 0.5 * ferryXgb.batch1 ? '✅' : '❌'}`
        : '- PMML tree ensemble within 2× of the XGBoost evaluator: not measured (no pmml runtime or no fixtures/pmml/forest.pmml in this checkout)',
    ].join('\n');
    const sklearnSection = await sklearnRows(tmp);
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const report = [
      '# Runtime benchmark (`npm run bench:runtimes`)',
      '',
      `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${cpus().length} cores, Node ${process.version}; ${SECONDS} s per cell; same rows for every runtime (breast cancer 569 × 30, tiled).`,
      'Model: 100 trees of depth ≤ 6 (xgboost 1.7.4, binary:logistic, hist), and the same trees as LightGBM text and ONNX TreeEnsembleClassifier.',
      'Rows/s are wall-clock; the last column divides by the CPU time the scoring process used instead, which moves less when other work shares the machine.',
      '',
      table,
      '',
      'Targets:',
      '',
      targets,
      '',
      ...sklearnSection,
    ].join('\n');
    process.stdout.write(`${report}\n`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/runtimes.md'), report);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface SklearnRef {
  readonly version: string;
  readonly [model: string]: string | { path: string; bytes: number; batch1: number; batchN: number; batch1Cpu: number; batchNCpu: number };
}

/** scikit-learn's predict_proba beside Ferry's sklearn runtime on the same joblib files; registration time. */
async function sklearnRows(tmp: string): Promise<string[]> {
  let ref: SklearnRef;
  try {
    log(`scikit-learn (python3, 1 thread): fitting and timing, ${SECONDS} s per cell…`);
    const out = execFileSync('/usr/bin/python3', [join(ROOT, 'bench/lib/sklearn_predict.py'), tmp, String(SECONDS), String(ROWS)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }, maxBuffer: 64 << 20,
    });
    ref = JSON.parse(out.trim().split('\n').pop() ?? '{}') as SklearnRef;
  } catch {
    log('no scikit-learn rows: /usr/bin/python3 with sklearn and joblib is needed (apt-get install python3-sklearn python3-joblib)');
    return ['scikit-learn rows: not measured (no python3-sklearn).', ''];
  }
  const buf = readFileSync(join(tmp, 'sklearn_rows.f32'));
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const factory = new RuntimeCatalog().get('sklearn');
  const lines = [
    `### scikit-learn models (sklearn ${ref.version} predict_proba, 1 thread, vs Ferry's sklearn runtime on the same joblib file and rows)`,
    '',
    `| model | joblib size | Ferry registration (translate + verify), wall / CPU | sklearn rows/s, batch 1 / ${ROWS.toLocaleString('en-US')} | Ferry rows/s, batch 1 / ${ROWS.toLocaleString('en-US')} | Ferry vs sklearn, wall (batch 1 / ${ROWS.toLocaleString('en-US')}) | Ferry vs sklearn, per CPU-s (batch 1 / ${ROWS.toLocaleString('en-US')}) |`,
    '| :--- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const targets: string[] = [];
  for (const [key, label] of [['rf', 'RandomForestClassifier, 100 trees'], ['hgb', 'HistGradientBoostingClassifier, 100 iterations']] as const) {
    const r = ref[key];
    if (typeof r !== 'object') continue;
    const bytes = readFileSync(r.path);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const translated = await factory.translate!(bytes, r.path);
    const runtime = await factory.load(translated?.artifact ?? bytes, {}, r.path);
    const registerMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const c1 = process.cpuUsage(c0);
    const registerCpuMs = (c1.user + c1.system) / 1000;
    try {
      const row = await measure(runtime, x, `Ferry sklearn runtime (${label})`, `${key}.joblib`);
      lines.push(`| ${label} | ${(r.bytes / 1e6).toFixed(1)} MB | ${Math.round(registerMs)} / ${Math.round(registerCpuMs)} ms | ${fmt(r.batch1)} / ${fmt(r.batchN)} | ${fmt(row.batch1)} / ${fmt(row.batchN)} | ${ratio(row.batch1, r.batch1)} / ${ratio(row.batchN, r.batchN)} | ${ratio(row.batch1Cpu, r.batch1Cpu)} / ${ratio(row.batchNCpu, r.batchNCpu)} |`);
      targets.push(`- ${label}: Ferry ≥ 1× scikit-learn at batch ${ROWS}: ${ratio(row.batchN, r.batchN)} wall, ${ratio(row.batchNCpu, r.batchNCpu)} per CPU-s ${row.batchN >= r.batchN ? '✅' : '❌'}`);
      if (key === 'rf') targets.push(`- registration of the 100-tree forest (${(r.bytes / 1e6).toFixed(1)} MB joblib) under 1 s: ${Math.round(registerMs)} ms wall, ${Math.round(registerCpuMs)} ms CPU ${registerMs < 1000 ? '✅' : '❌'}`);
    } finally {
      await runtime.close();
    }
  }
  return [...lines, '', ...targets, ''];
}

await main();
