/**
 * `npm run bench:features`: the feature layer's figures against the issue's targets (#16).
 *
 * 1. Online lookups (`FeatureLookups.get`, cache off): p50/p99 latency and lookups/s for 1, 10
 *    and 100 entities per call, from Redis and from the SQLite registry store (BENCH_ENTITIES
 *    entities materialised, BENCH_CALLS calls each, one caller).
 * 2. Serving req/s at concurrency 64 (autocannon, KServe v1 one row per request): the diabetes
 *    model bound to a service given {patient_id, s6}, beside the same model given full rows, in one
 *    run of one server (target ≥ 0.8×).
 * 3. Materialisation of BENCH_MAT_ROWS rows (one per entity) into Redis, beside pipelined HSET of
 *    the same keys and payloads with ioredis (the `redis-benchmark -P` shape; target ≥ 0.5×).
 * 4. A training set of BENCH_TRAIN_ROWS entity rows × 3 views (target < 10 s).
 *
 * Prints Markdown and writes bench/results/features.md. Run with normal priority; note `uptime`.
 * BENCH_PROFILE_DIR=<dir> makes the server write a CPU profile of the serving part there.
 * BENCH_ONLY=lookups,serving,materialisation,training runs only those parts (and writes no results file).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { openDuckDb } from '../src/batch/duckdb.js';
import { loadConfig } from '../src/core/config.js';
import { resolveService } from '../src/features/declarations.js';
import { FeatureLookups } from '../src/features/lookup.js';
import { materializeView } from '../src/features/materialize.js';
import { openOnlineStore } from '../src/features/online-store.js';
import { trainingSet } from '../src/features/training-set.js';
import { openFerry } from '../src/main/ferry.js';
import { main } from '../src/cli/main.js';
import { tempDir } from './lib/children.js';
import { ROOT } from './lib/fixture.js';
import { percentile } from './lib/stats.js';

const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 100_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const MAT_ROWS = Number(process.env.BENCH_MAT_ROWS ?? 1_000_000);
const TRAIN_ROWS = Number(process.env.BENCH_TRAIN_ROWS ?? 1_000_000);
const SERVE_SECONDS = Number(process.env.BENCH_SERVE_SECONDS ?? 5);
const SERVE_ROUNDS = Number(process.env.BENCH_SERVE_ROUNDS ?? 8);
const ONLY = process.env.BENCH_ONLY?.split(',');
const part = (name: string): boolean => ONLY === undefined || ONLY.includes(name);
const REDIS_URL = 'redis://127.0.0.1:6379/0';
const prefix = `ferry-bench-features-${process.pid}:`;
const DIABETES = join(ROOT, 'fixtures/models/diabetes_regressor');
const COLUMNS = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'];

const tmp = tempDir('ferry-bench-features-');
const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'bench', PATH: process.env.PATH ?? '' };
const out: string[] = [];
/** The k-th patient id asked for: spread over every materialised patient (ids are block * 1000 + fixture row). */
const patientId = (k: number): number => ((k * 7919) % Math.ceil(ENTITIES / 50)) * 1000 + (k % 50);
const say = (line = '') => { out.push(line); console.log(line); };

async function cli(args: string[], extra: Record<string, string> = {}): Promise<void> {
  const code = await main(['node', 'ferry', ...args], { stdout: process.stderr, stderr: process.stderr, env: { ...env, ...extra } });
  if (code !== 0) throw new Error(`ferry ${args.join(' ')} exited ${code}`);
}

async function duckRun(sql: string): Promise<void> {
  const duck = await openDuckDb();
  try {
    const c = await duck.connect();
    await c.run(sql);
  } finally {
    duck.close();
  }
}

/** Patients for the diabetes model: `ENTITIES` ids, the fixture's rows repeated, one event each (plus an older one). */
async function writeSources(): Promise<void> {
  const input = join(DIABETES, 'input.csv');
  await duckRun(`copy (select (r.i * 1000 + f.id)::bigint as patient_id, timestamp '2026-05-01' - to_days((r.i % 7)::integer) as event_time, f.age, f.sex, f.bmi, f.bp, f.s1, f.s2, f.s3, f.s4, f.s5 * 2 as s5_raw
    from read_csv('${input}', header=true) f, range(${Math.ceil(ENTITIES / 50)}) r(i)) to '${join(tmp.dir, 'patients.parquet')}' (format parquet)`);
  // The materialisation source: one row per entity, three numbers.
  await duckRun(`copy (select i as id, timestamp '2026-05-01' - to_seconds(i % 1000) as t, i * 1.5 as a, i % 97 as b, (i % 13)::double as c from range(${MAT_ROWS}) r(i)) to '${join(tmp.dir, 'mat.parquet')}' (format parquet)`);
  // Three views for the training set, several events per entity, and TRAIN_ROWS entity rows.
  for (const v of ['v1', 'v2', 'v3']) {
    await duckRun(`copy (select (i % 200000) as customer_id, timestamp '2026-01-01' + to_minutes((i * 37) % 260000) as ts, (i % 1000)::double as ${v}_x, (i % 7)::double as ${v}_y from range(600000) r(i)) to '${join(tmp.dir, `${v}.parquet`)}' (format parquet)`);
  }
  await duckRun(`copy (select (i * 7919) % 220000 as customer_id, timestamp '2026-01-01' + to_minutes((i * 13) % 270000) as as_of, i % 2 as label from range(${TRAIN_ROWS}) r(i)) to '${join(tmp.dir, 'entities.parquet')}' (format parquet)`);
  writeFileSync(join(tmp.dir, 'features.yaml'), `entities: [{name: patient, key: patient_id}, {name: thing, key: id}, {name: customer, key: customer_id}]
views:
  - {name: patient_stats, entity: patient, source: {path: patients.parquet}, timestamp: event_time, features: [age, sex, bmi, bp, s1, s2, s3, s4, s5_raw]}
  - {name: things, entity: thing, source: {path: mat.parquet}, timestamp: t, features: [a, b, c]}
  - {name: v1, entity: customer, source: {path: v1.parquet}, timestamp: ts, features: [v1_x, v1_y], ttl: 30d}
  - {name: v2, entity: customer, source: {path: v2.parquet}, timestamp: ts, features: [v2_x, v2_y]}
  - {name: v3, entity: customer, source: {path: v3.parquet}, timestamp: ts, features: [v3_x, v3_y], ttl: 90d}
services:
  - {name: diabetes, features: [age, sex, bmi, bp, s1, s2, s3, s4, s5_raw], transforms: {s5: "s5_raw / 2"}}
  - {name: things, features: [a, b, c]}
  - {name: train, features: [v1_x, v1_y, v2_x, v2_y, v3_x, v3_y], transforms: {ratio: "v1_x / max(v2_x, 1)"}}
`);
}

async function lookups(): Promise<string[]> {
  const rows: string[] = [];
  for (const store of ['redis', 'sqlite'] as const) {
    const extra = store === 'redis' ? { FERRY_ONLINE_STORE: `${REDIS_URL}?prefix=${prefix}` } : {};
    const app = await openFerry(loadConfig({ ...env, ...extra }));
    try {
      const online = await openOnlineStore(store === 'redis' ? `${REDIS_URL}?prefix=${prefix}` : undefined, app.database);
      const { declarations } = await app.features.require();
      const view = declarations.views.find((v) => v.name === 'patient_stats')!;
      await materializeView(online, view, declarations.entities[0]!, { until: Date.parse('2026-06-01') });
      const lookup = new FeatureLookups(app.features, online, { cacheSize: 0 });
      for (const batch of [1, 10, 100]) {
        const times: number[] = [];
        let k = 0;
        const started = performance.now();
        for (let i = 0; i < CALLS; i++) {
          const entities = Array.from({ length: batch }, () => ({ patient_id: patientId(k++) }));
          const t = performance.now();
          await lookup.get('diabetes', entities);
          times.push(performance.now() - t);
        }
        const seconds = (performance.now() - started) / 1000;
        times.sort((a, b) => a - b);
        rows.push(`| ${store === 'redis' ? 'Redis' : 'SQLite (registry)'} | ${batch} | ${percentile(times, 50).toFixed(3)} | ${percentile(times, 99).toFixed(3)} | ${Math.round((CALLS * batch) / seconds).toLocaleString('en-US')} |`);
      }
      await online.close();
    } finally {
      await app.close();
    }
  }
  return rows;
}

/** Start `ferry serve` and resolve its URL. */
function serve(): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  // BENCH_PROFILE_DIR: the server writes a CPU profile there when it stops (bench/cpuprofile-summary.ts reads it).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR] : [];
  const proc = spawn(process.execPath, [...profile, join(ROOT, 'bin/ferry.js'), 'serve', '--port', '0', '--grpc-port', 'off', '--alerts-interval', '0', '--no-scheduler'], { env: { ...env, FERRY_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    proc.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      const line = text.split('\n').find((l) => l.includes('"ferry serving"'));
      if (line) resolve({ url: (JSON.parse(line) as { http: string }).http, pid: proc.pid ?? 0, stop: () => new Promise((r) => { proc.on('exit', () => r()); proc.kill('SIGTERM'); }) });
    });
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

/** CPU seconds a process (all its threads) has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Full rows and keyed rows in alternating rounds (SERVE_ROUNDS each), so a change of the shared
 * machine's load hits both alike; beside req/s, the server's CPU per request (its threads'
 * user + system time over the requests answered), which the load of other processes does not move.
 */
async function serving(): Promise<{ full: number; keyed: number; fullCpuMs: number; keyedCpuMs: number }> {
  const fixture = readFileSync(join(DIABETES, 'input.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const server = await serve();
  try {
    const run = async (model: string, bodies: string[], seconds = SERVE_SECONDS): Promise<{ requests: number; seconds: number; cpu: number }> => {
      let i = 0;
      const cpu0 = cpuSeconds(server.pid);
      const result = await autocannon({
        url: `${server.url}/v1/models/${model}:predict`, connections: 64, duration: seconds, method: 'POST',
        headers: { 'content-type': 'application/json' },
        requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
      });
      if (result.non2xx > 0) throw new Error(`${model}: ${result.non2xx} non-2xx answers`);
      return { requests: result.requests.total, seconds: result.duration, cpu: cpuSeconds(server.pid) - cpu0 };
    };
    const full = fixture.map((r) => JSON.stringify({ instances: [Object.fromEntries(COLUMNS.map((c, j) => [c, r[j + 1]]))] }));
    const keyed = Array.from({ length: 1000 }, (_, k) => { const id = patientId(k); const r = fixture[id % 1000]!; return JSON.stringify({ instances: [{ patient_id: id, s6: r[10] }] }); });
    await run('dfull', full.slice(0, 5), 2); // warm-up
    await run('dfeat', keyed.slice(0, 5), 2);
    const sum = { full: { requests: 0, seconds: 0, cpu: 0 }, keyed: { requests: 0, seconds: 0, cpu: 0 } };
    for (let round = 0; round < SERVE_ROUNDS; round++) {
      for (const [name, model, bodies] of [['full', 'dfull', full], ['keyed', 'dfeat', keyed]] as const) {
        const r = await run(model, bodies);
        sum[name].requests += r.requests;
        sum[name].seconds += r.seconds;
        sum[name].cpu += r.cpu;
      }
    }
    return {
      full: sum.full.requests / sum.full.seconds, keyed: sum.keyed.requests / sum.keyed.seconds,
      fullCpuMs: (sum.full.cpu * 1000) / sum.full.requests, keyedCpuMs: (sum.keyed.cpu * 1000) / sum.keyed.requests,
    };
  } finally {
    await server.stop();
  }
}

async function materialisation(): Promise<{ ferry: number; baseline: number }> {
  const redis = new Redis(REDIS_URL);
  // Baseline: pipelined HSET of the same keys and payload shape, 10,000 per pipeline.
  const t0 = performance.now();
  for (let i = 0; i < MAT_ROWS; i += 10_000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(MAT_ROWS, i + 10_000); j++) p.hset(`${prefix}base:${j}`, 'things', `1777593600000|${JSON.stringify({ a: j * 1.5, b: j % 97, c: j % 13 })}`);
    await p.exec();
  }
  const baseline = MAT_ROWS / ((performance.now() - t0) / 1000);
  const app = await openFerry(loadConfig(env));
  try {
    const online = await openOnlineStore(`${REDIS_URL}?prefix=${prefix}`, app.database);
    const { declarations } = await app.features.require();
    const t1 = performance.now();
    const r = await materializeView(online, declarations.views.find((v) => v.name === 'things')!, declarations.entities[1]!, { until: Date.parse('2026-06-01'), chunkSize: 10_000 });
    const ferry = r.rows / ((performance.now() - t1) / 1000);
    await online.close();
    return { ferry, baseline };
  } finally {
    await app.close();
    await redis.quit();
  }
}

async function training(): Promise<number> {
  const app = await openFerry(loadConfig(env));
  try {
    const { declarations } = await app.features.require();
    const t = performance.now();
    const r = await trainingSet(resolveService(declarations, 'train'), { entities: join(tmp.dir, 'entities.parquet'), timestamp: 'as_of', output: join(tmp.dir, 'train.parquet') });
    if (r.rows !== TRAIN_ROWS) throw new Error(`training set has ${r.rows} rows`);
    return (performance.now() - t) / 1000;
  } finally {
    await app.close();
  }
}

async function cleanupRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}

try {
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  await writeSources();
  await cli(['features', 'apply', join(tmp.dir, 'features.yaml')]);
  await cli(['register', join(DIABETES, 'model.onnx'), '-n', 'dfull', '--input-columns', `input=${COLUMNS.join(',')}`]);
  await cli(['register', join(DIABETES, 'model.onnx'), '-n', 'dfeat', '--input-columns', `input=${COLUMNS.join(',')}`, '--features', 'diabetes']);
  await cli(['features', 'materialize', 'patient_stats', '--until', '2026-06-01']);
  say(`## Feature layer (\`npm run bench:features\`)\n\nLoad average at start: ${load} (2 cores shared with other work).\n`);
  say(`### Online lookups (${ENTITIES.toLocaleString('en-US')} entities, ${CALLS} calls per row, cache off, one caller)\n`);
  say('| store | entities per call | p50 ms | p99 ms | lookups/s |');
  say('|---|---:|---:|---:|---:|');
  if (part('lookups')) for (const r of await lookups()) say(r);
  const s = part('serving') ? await serving() : { full: NaN, keyed: NaN, fullCpuMs: NaN, keyedCpuMs: NaN };
  say(`\n### Serving at concurrency 64 (KServe v1, one row per request, ${SERVE_ROUNDS} alternating rounds of ${SERVE_SECONDS} s each, one server)\n`);
  say('| input | req/s | ratio | server CPU ms per request | CPU ratio | target |');
  say('|---|---:|---:|---:|---:|---|');
  say(`| full rows (baseline) | ${Math.round(s.full)} | 1.00 | ${s.fullCpuMs.toFixed(3)} | 1.00 | |`);
  say(`| {patient_id, s6} with lookups | ${Math.round(s.keyed)} | ${(s.keyed / s.full).toFixed(2)} | ${s.keyedCpuMs.toFixed(3)} | ${(s.fullCpuMs / s.keyedCpuMs).toFixed(2)} | ≥ 0.8× ${s.keyed / s.full >= 0.8 ? 'met' : 'NOT met'} |`);
  const m = part('materialisation') ? await materialisation() : { ferry: NaN, baseline: NaN };
  say(`\n### Materialisation into Redis (${MAT_ROWS.toLocaleString('en-US')} entities)\n`);
  say('| writer | rows/s | ratio | target |');
  say('|---|---:|---:|---|');
  say(`| pipelined HSET, ioredis, 10,000 per pipeline, same keys and payloads (baseline) | ${Math.round(m.baseline).toLocaleString('en-US')} | 1.00 | |`);
  say(`| \`ferry features materialize\` (DuckDB read + rank, chunks of 10,000 in MULTI) | ${Math.round(m.ferry).toLocaleString('en-US')} | ${(m.ferry / m.baseline).toFixed(2)} | ≥ 0.5× ${m.ferry / m.baseline >= 0.5 ? 'met' : 'NOT met'} |`);
  const seconds = part('training') ? await training() : NaN;
  say(`\n### Training set\n\n| join | seconds | target |\n|---|---:|---|\n| ${TRAIN_ROWS.toLocaleString('en-US')} entity rows × 3 views (600,000 events each), ASOF in DuckDB, to Parquet | ${seconds.toFixed(2)} | < 10 s ${seconds < 10 ? 'met' : 'NOT met'} |`);
  if (ONLY === undefined) {
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/features.md'), `${out.join('\n')}\n`);
  }
} finally {
  await cleanupRedis();
  tmp.remove();
}
