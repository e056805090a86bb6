/**
 * `npm run bench:cluster`: what running several replicas costs and how fast they agree.
 * - Alias propagation: 3 `ferry serve` replicas on one PostgreSQL registry; the time from the
 *   start of an alias move (in this process) until every replica answers with the new version,
 *   over BENCH_MOVES moves, with LISTEN/NOTIFY and with polling alone (FERRY_REGISTRY_LISTEN=off,
 *   the default 2 s poll).
 * - Artifact load: a BENCH_ARTIFACT_MB model read from the PostgreSQL artifact store (cold, then
 *   from the local cache) beside the local directory store.
 * Bounded and loopback only. Prints Markdown and writes bench/results/cluster.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';
import { CachedArtifactStore } from '../src/artifacts/cached-store.js';
import { PostgresArtifactStore } from '../src/artifacts/postgres-store.js';
import { openFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { startChild, stopAll, tempDir, type Child } from './lib/children.js';
import { fixtureRows, MODEL_PATH, ROOT } from './lib/fixture.js';
import { percentile } from './lib/stats.js';

const MOVES = Number(process.env.BENCH_MOVES ?? 50);
const REPLICAS = 3;
const ARTIFACT_MB = Number(process.env.BENCH_ARTIFACT_MB ?? 50);
const PG_URL = process.env.FERRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TARGET_MS = 200;

const row = fixtureRows()[0]!;
const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, row.length], datatype: 'FP32', data: row }] });

async function served(url: string): Promise<string | null> {
  const res = await fetch(`${url}/v2/models/bc/versions/champion/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.headers.get('x-ferry-model-version');
}

async function withSchema<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const schema = `ferry_bench_cluster_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  try {
    return await fn(url);
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.end();
  }
}

/**
 * Propagation times (ms) of MOVES alias moves across REPLICAS servers. `prewarmed`: every
 * target version is already served under another alias (blue/green), so a move only switches
 * the pointer; otherwise each move loads and warms the version first.
 */
async function propagation(listen: boolean, prewarmed: boolean): Promise<number[]> {
  return withSchema(async (url) => {
    const home = tempDir('ferry-bench-cluster-');
    const env = { PATH: process.env.PATH ?? '', FERRY_DATABASE_URL: url, FERRY_ARTIFACTS_URL: url, FERRY_REGISTRY_LISTEN: listen ? 'on' : 'off', FERRY_ACTOR: 'bench' };
    const ferry = await openFerry(loadConfig({ ...env, FERRY_HOME: join(home.dir, 'cli') }));
    const children: Child[] = [];
    try {
      for (let v = 1; v <= 3; v++) {
        await ferry.registry.register({ path: MODEL_PATH, name: 'bc', actor: 'bench', aliases: [`v${v}`, ...(v === 1 ? ['champion'] : [])] });
      }
      const config = join(home.dir, 'ferry.yaml');
      writeFileSync(config, `models:\n  - name: bc\n    versions: [champion${prewarmed ? ', v1, v2, v3' : ''}]\n`);
      const urls: string[] = [];
      for (let i = 0; i < REPLICAS; i++) {
        const { child, info } = await startChild('ferry serve', {
          args: [join(ROOT, 'bin/ferry.js'), 'serve', '--port', '0', '--grpc-port', 'off', '--config', config],
          env: { ...env, FERRY_HOME: join(home.dir, `r${i}`), FERRY_LOG_LEVEL: 'info' },
          cwd: ROOT,
          ready: (line) => line.includes('"ferry serving"') ? (JSON.parse(line) as { http: string }) : undefined,
        });
        children.push(child);
        urls.push(info.http);
      }
      const times: number[] = [];
      for (let i = 0; i < MOVES; i++) {
        const target = String(((i + 1) % 3) + 1);
        const started = performance.now();
        await ferry.registry.setAlias('bc', 'champion', target, 'bench');
        await Promise.all(urls.map(async (u) => {
          while ((await served(u)) !== target) await new Promise((r) => setTimeout(r, 2));
        }));
        times.push(performance.now() - started);
      }
      return times;
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      await ferry.close();
      home.remove();
    }
  });
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function artifactLoads(): Promise<{ local: number; pgCold: number; pgCached: number }> {
  const bytes = randomBytes(ARTIFACT_MB << 20);
  const dir = tempDir('ferry-bench-art-');
  try {
    return await withSchema(async (url) => {
      const local = new LocalArtifactStore(join(dir.dir, 'local'));
      const { digest } = await local.put(bytes);
      const shared = new PostgresArtifactStore({ url });
      const cached = new CachedArtifactStore(shared, new LocalArtifactStore(join(dir.dir, 'cache')));
      try {
        await shared.put(bytes);
        const localMs = Math.min(await timeMs(() => local.get(digest, 'm')), await timeMs(() => local.get(digest, 'm')));
        const pgCold = await timeMs(() => cached.get(digest, 'm'));
        const pgCached = Math.min(await timeMs(() => cached.get(digest, 'm')), await timeMs(() => cached.get(digest, 'm')));
        return { local: localMs, pgCold, pgCached };
      } finally {
        await cached.close();
      }
    });
  } finally {
    dir.remove();
  }
}

const fmt = (ms: number): string => ms < 10 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en-US');

try {
  const notifyWarm = await propagation(true, true);
  const notify = await propagation(true, false);
  const pollingWarm = await propagation(false, true);
  const art = await artifactLoads();
  const p = (xs: number[], q: number): number => percentile([...xs].sort((a, b) => a - b), q);
  const lines = [
    `### Alias propagation — ${REPLICAS} replicas on one PostgreSQL registry, ${MOVES} moves`,
    '',
    '| mode | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|',
    `| LISTEN/NOTIFY, target already loaded (blue/green aliases) | ${fmt(p(notifyWarm, 50))} | ${fmt(p(notifyWarm, 99))} | ${fmt(Math.max(...notifyWarm))} |`,
    `| polling only (2 s), target already loaded | ${fmt(p(pollingWarm, 50))} | ${fmt(p(pollingWarm, 99))} | ${fmt(Math.max(...pollingWarm))} |`,
    `| LISTEN/NOTIFY, target loaded and warmed on the move | ${fmt(p(notify, 50))} | ${fmt(p(notify, 99))} | ${fmt(Math.max(...notify))} |`,
    '',
    `Target: every replica serves the move within ${TARGET_MS} ms — ${p(notifyWarm, 99) <= TARGET_MS ? 'met' : 'not met'} for a loaded target (p99 ${fmt(p(notifyWarm, 99))} ms); ${p(notify, 99) <= TARGET_MS ? 'met' : 'not met'} when the move must load it (p99 ${fmt(p(notify, 99))} ms).`,
    '',
    `### Artifact load — ${ARTIFACT_MB} MB blob, verified (sha256) on every load`,
    '',
    '| store | ms |',
    '|---|---:|',
    `| local directory | ${fmt(art.local)} |`,
    `| PostgreSQL, first load on a machine (fetch + cache) | ${fmt(art.pgCold)} |`,
    `| PostgreSQL, later loads (local cache by digest) | ${fmt(art.pgCached)} |`,
    '',
  ];
  const text = lines.join('\n');
  console.log(text);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/cluster.md'), text);
} finally {
  await stopAll();
}
