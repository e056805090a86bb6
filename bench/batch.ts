/**
 * `npm run bench:batch [-- --rows N] [-- --rss-rows M] [-- --models mlp,xgb] [-- --pairs csv-csv,csv-parquet,parquet-parquet]
 * [-- --no-pandas] [-- --log]`: `ferry batch run` against its limits and
 * against the pandas script it replaces, all in one run, on N rows (default 1 000 000) × 30 float
 * features (id + the breast-cancer columns, the fixture rows repeated):
 *
 * - Ferry CSV→CSV, CSV→Parquet and Parquet→Parquet with the fixture MLP (ONNX) and the fixture
 *   XGBoost model (fixtures/xgboost/breast_bench);
 * - compute limit: the runtime alone, in process, on in-memory batches of the run's chunk size;
 * - I/O limit: DuckDB alone reading the same file and writing id + 2 columns computed from every
 *   feature (so every feature is parsed), with the same thread count Ferry's DuckDB uses;
 * - pandas: `bench/batch_pandas.py` with Debian's /usr/bin/python3 (pandas + torch for the MLP,
 *   xgboost for the trees; CSV out, as Debian has no pyarrow);
 * - peak RSS of Ferry's Parquet→Parquet run at N and at M rows (default 5 000 000; 0 skips);
 * - with `--log`, each model's CSV→CSV run again with `--log-predictions` (a fresh registry),
 *   and its cost against the run without.
 *
 * `--models`, `--pairs` and `--no-pandas` pick fewer jobs (a quick pair to compare one change).
 *
 * Generated files go to bench/.data/ (gitignored). Prints a Markdown table and writes it to
 * bench/results/batch.md. Targets: Ferry ≥ 0.7 × min(compute, I/O); ≥ 4 × pandas; RSS at M ≤ 1.2 × RSS at N.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Tensor } from '../src/core/tensor.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATA = join(ROOT, 'bench/.data');
const BASE = join(ROOT, 'fixtures/models/breast_mlp/input.csv');
const MODELS = {
  mlp: { path: join(ROOT, 'fixtures/models/breast_mlp/model.onnx'), pandas: 'mlp' },
  xgb: { path: join(ROOT, 'fixtures/xgboost/breast_bench/model.json'), pandas: 'xgb' },
} as const;
type ModelName = keyof typeof MODELS;
const CHUNK = 16_384;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('--rows', 1_000_000);
const RSS_ROWS = arg('--rss-rows', 5_000_000);
function list(name: string): string[] | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? '').split(',') : undefined;
}
const ONLY_MODELS = list('--models');
const ONLY_PAIRS = list('--pairs');
const PANDAS = !process.argv.includes('--no-pandas');
const LOG = process.argv.includes('--log');
const PAIR_KEYS: Readonly<Record<string, string>> = { 'CSV→CSV': 'csv-csv', 'CSV→Parquet': 'csv-parquet', 'Parquet→Parquet': 'parquet-parquet' };
const wanted = (pair: string) => !ONLY_PAIRS || ONLY_PAIRS.includes(PAIR_KEYS[pair] ?? pair);

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const header = readFileSync(BASE, 'utf8').split('\n')[0]?.trim().split(',') ?? [];
const FEATURES = header.filter((c) => c !== 'id');

/** N rows of the fixture repeated, ids unique, as CSV and Parquet (made once, kept in bench/.data). */
async function dataFiles(rows: number): Promise<{ csv: string; parquet: string }> {
  mkdirSync(DATA, { recursive: true });
  const csv = join(DATA, `in-${rows}.csv`);
  const parquet = join(DATA, `in-${rows}.parquet`);
  if (existsSync(csv) && existsSync(parquet)) return { csv, parquet };
  log(`generating ${rows} rows`);
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const base = `read_csv('${BASE}', header=true)`;
  // The fixture holds a few dozen rows: tile it as often as `rows` needs (and check the count).
  const baseRows = Number((await db.runAndReadAll(`select count(*) from ${base}`)).getRows()[0]?.[0]);
  const select = `select (r.range * 100000 + b.id)::bigint as id, ${FEATURES.map((f) => `b."${f}"::double as "${f}"`).join(', ')} from range(${Math.ceil(rows / baseRows) + 1}) r cross join ${base} b order by r.range, b.id limit ${rows}`;
  await db.run(`create table t as ${select}`);
  const made = Number((await db.runAndReadAll('select count(*) from t')).getRows()[0]?.[0]);
  if (made !== rows) throw new Error(`generated ${made} rows, not ${rows}`);
  await db.run(`copy t to '${csv}' (header)`);
  await db.run(`copy t to '${parquet}' (format parquet)`);
  db.closeSync();
  return { csv, parquet };
}

interface Timed {
  readonly seconds: number;
  readonly rssMb: number;
  readonly stdout: string;
}

/** Run a command under /usr/bin/time: wall seconds and peak RSS. */
function timed(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Timed {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${res.stderr.slice(-2000)}`);
  const last = res.stderr.trim().split('\n').pop() ?? '';
  const [s, kb] = last.split(' ').map(Number);
  return { seconds: s ?? Number.NaN, rssMb: (kb ?? 0) / 1024, stdout: res.stdout };
}

/** `ferry batch run …`, checked to have scored `rows` rows (a rate over rows never read would flatter). */
function ferry(home: string, rows: number, ...args: string[]): Timed {
  return ferryIn(home, rows, args);
}

/** Register the two models in a registry home. */
function registerModels(home: string): void {
  for (const [name, m] of Object.entries(MODELS)) {
    const reg = spawnSync(process.execPath, [join(ROOT, 'bin/ferry.js'), 'register', m.path, '--name', name, ...(name === 'mlp' ? ['--input-columns', `input=${FEATURES.join(',')}`] : [])], { env: { ...process.env, FERRY_HOME: home }, encoding: 'utf8' });
    if (reg.status !== 0) throw new Error(`register ${name} failed: ${reg.stderr}`);
  }
}

function ferryIn(home: string, rows: number, args: readonly string[]): Timed {
  const run = timed(process.execPath, [join(ROOT, 'bin/ferry.js'), ...args], { FERRY_HOME: home, FERRY_LOG_LEVEL: 'warn' });
  if (!run.stdout.includes(`: ${rows} row(s) in, ${rows} scored`)) throw new Error(`ferry ${args.join(' ')} did not score ${rows} rows: ${run.stdout.slice(-500)}`);
  return run;
}

/** The runtime alone on in-memory batches of CHUNK rows (one pass over `rows`). */
async function computeLimit(model: ModelName, rows: number): Promise<number> {
  const catalog = new RuntimeCatalog();
  const runtime = await catalog.get(model === 'mlp' ? 'onnx' : 'xgboost').load(readFileSync(MODELS[model].path), {}, MODELS[model].path);
  const input = runtime.signature().inputs[0]?.name ?? 'input';
  const data = new Float32Array(CHUNK * FEATURES.length);
  for (let i = 0; i < data.length; i++) data[i] = (i % 97) * 1.7;
  const batch: Record<string, Tensor> = { [input]: { dtype: 'float32', shape: [CHUNK, FEATURES.length], data } };
  await runtime.predict(batch);
  const started = performance.now();
  let done = 0;
  while (done < rows) {
    await runtime.predict(batch);
    done += CHUNK;
  }
  const rate = done / ((performance.now() - started) / 1000);
  await runtime.close();
  return rate;
}

/** DuckDB alone: read the file, write id + 2 columns computed from every feature. */
async function ioLimit(input: string, output: string): Promise<number> {
  const db = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
  const src = input.endsWith('.csv') ? `read_csv('${input}', header=true)` : `read_parquet('${input}')`;
  const sum = FEATURES.map((f) => `"${f}"`).join(' + ');
  const fmt = output.endsWith('.csv') ? '(header)' : '(format parquet)';
  const started = performance.now();
  await db.run(`copy (select id, ${sum} as a, (${sum}) * 2 as b from ${src}) to '${output}' ${fmt}`);
  const seconds = (performance.now() - started) / 1000;
  db.closeSync();
  return ROWS / seconds;
}

interface Line {
  readonly job: string;
  readonly rowsPerSecond: number;
  readonly note: string;
}

async function main(): Promise<void> {
  const files = await dataFiles(ROWS);
  const work = mkdtempSync(join(DATA, 'run-'));
  const home = join(work, 'home');
  const lines: Line[] = [];
  const verdicts: string[] = [];
  try {
    registerModels(home);
    const io: Record<string, number> = {};
    for (const [pair, input, output] of [['CSV→CSV', files.csv, 'io.csv'], ['CSV→Parquet', files.csv, 'io.parquet'], ['Parquet→Parquet', files.parquet, 'io2.parquet']] as const) {
      if (!wanted(pair)) continue;
      io[pair] = await ioLimit(input, join(work, output));
      lines.push({ job: `DuckDB alone (I/O limit) ${pair}`, rowsPerSecond: io[pair], note: '2 threads, no model' });
      log(`I/O ${pair}: ${Math.round(io[pair])} rows/s`);
    }
    for (const model of Object.keys(MODELS) as ModelName[]) {
      if (ONLY_MODELS && !ONLY_MODELS.includes(model)) continue;
      const compute = await computeLimit(model, ROWS);
      lines.push({ job: `${model}: runtime alone (compute limit)`, rowsPerSecond: compute, note: `batches of ${CHUNK}, in memory` });
      log(`${model} compute: ${Math.round(compute)} rows/s`);
      let pandasRate = Number.NaN;
      if (PANDAS) {
        const pandas = timed('/usr/bin/python3', [join(ROOT, 'bench/batch_pandas.py'), MODELS[model].pandas, MODELS[model].path, files.csv, join(work, `pandas-${model}.csv`)]);
        pandasRate = ROWS / pandas.seconds;
        lines.push({ job: `${model}: pandas read_csv → ${model === 'mlp' ? 'TorchScript' : 'xgboost'} (1 thread) → to_csv`, rowsPerSecond: pandasRate, note: `${pandas.seconds.toFixed(1)} s, peak RSS ${Math.round(pandas.rssMb)} MB` });
      }
      const rates: Record<string, number> = {};
      for (const [pair, input, output] of [['CSV→CSV', files.csv, `${model}.csv`], ['CSV→Parquet', files.csv, `${model}.parquet`], ['Parquet→Parquet', files.parquet, `${model}-pq.parquet`]] as const) {
        if (!wanted(pair)) continue;
        const run = ferry(home, ROWS, 'batch', 'run', model, '-i', input, '-o', join(work, output), '-k', 'id', '--chunk-size', String(CHUNK));
        const rate = ROWS / run.seconds;
        rates[pair] = rate;
        const limit = Math.min(compute, io[pair] ?? Infinity);
        const vsLimit = rate / limit;
        const vsPandas = rate / pandasRate;
        const pandasNote = PANDAS ? `; ${vsPandas.toFixed(2)}× pandas (target ≥ 4: ${vsPandas >= 4 ? 'met' : 'NOT met'})` : '';
        lines.push({ job: `${model}: ferry batch run ${pair}`, rowsPerSecond: rate, note: `${run.seconds.toFixed(1)} s, RSS ${Math.round(run.rssMb)} MB; ${vsLimit.toFixed(2)}× min(limits) (target ≥ 0.7: ${vsLimit >= 0.7 ? 'met' : 'NOT met'})${pandasNote}` });
        verdicts.push(`${model} ${pair}: ${vsLimit >= 0.7 ? 'met' : 'not met'} / ${vsPandas >= 4 ? 'met' : 'not met'}`);
        log(`${model} ${pair}: ${Math.round(rate)} rows/s`);
      }
      if (LOG && rates['CSV→CSV'] !== undefined) {
        // A registry of its own: the log's table starts empty, as it did for the run without.
        const logHome = join(work, `home-log-${model}`);
        registerModels(logHome);
        const run = ferry(logHome, ROWS, 'batch', 'run', model, '-i', files.csv, '-o', join(work, `${model}-log.csv`), '-k', 'id', '--chunk-size', String(CHUNK), '--log-predictions');
        const rate = ROWS / run.seconds;
        const cost = 1 - rate / rates['CSV→CSV'];
        lines.push({ job: `${model}: ferry batch run CSV→CSV --log-predictions`, rowsPerSecond: rate, note: `${run.seconds.toFixed(1)} s, RSS ${Math.round(run.rssMb)} MB; logging costs ${(cost * 100).toFixed(0)} % of rows/s (target ≤ 15 %: ${cost <= 0.15 ? 'met' : 'NOT met'})` });
        log(`${model} CSV→CSV --log-predictions: ${Math.round(rate)} rows/s`);
      }
    }
    if (RSS_ROWS > 0) {
      const small = ferry(home, ROWS, 'batch', 'run', 'mlp', '-i', files.parquet, '-o', join(work, 'rss-small.parquet'), '-k', 'id', '--chunk-size', String(CHUNK));
      const big = ferry(home, RSS_ROWS, 'batch', 'run', 'mlp', '-i', (await dataFiles(RSS_ROWS)).parquet, '-o', join(work, 'rss-big.parquet'), '-k', 'id', '--chunk-size', String(CHUNK));
      const ratio = big.rssMb / small.rssMb;
      lines.push({ job: `peak RSS, mlp Parquet→Parquet, ${ROWS} vs ${RSS_ROWS} rows`, rowsPerSecond: Number.NaN, note: `${Math.round(small.rssMb)} MB vs ${Math.round(big.rssMb)} MB: ${ratio.toFixed(2)}× (target ≤ 1.2: ${ratio <= 1.2 ? 'met' : 'NOT met'})` });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const table = [
    `bench:batch — ${ROWS} rows × ${FEATURES.length} features, chunk ${CHUNK}, one run (${new Date().toISOString()})`,
    '',
    '| job | rows/s | notes |',
    '|---|---:|---|',
    ...lines.map((l) => `| ${l.job} | ${Number.isNaN(l.rowsPerSecond) ? '' : Math.round(l.rowsPerSecond).toLocaleString('en')} | ${l.note} |`),
    '',
  ].join('\n');
  process.stdout.write(`${table}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/batch.md'), `${table}\n`);
}

await main();
