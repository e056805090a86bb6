/**
 * Real concurrent processes against one registry (SQLite file, PostgreSQL schema): version
 * numbers stay 1..N×K with no gap or duplicate, and a registry held locked by another
 * process fails fast with FERRY_E_REGISTRY_BUSY, leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrationNames, openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { POSTGRES_CAPABILITIES } from '../src/registry/postgres-store.js';
import { SQLITE_CAPABILITIES } from '../src/registry/sqlite-store.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { ferryCli, PG_URL, pgSchema, ROOT, tempDir } from './helpers/env.js';
import type { WorkerReport } from './helpers/registry-worker.js';
import { fixturePath, rejectsWith, sha256, type FixtureName } from './registry.suite.js';

const WORKERS = 4;
const PER_WORKER = 5;
const WORKER_SCRIPT = join(ROOT, 'test/helpers/registry-worker.ts');
// Generous: on a loaded 2-core CI machine a worker's cold start can take tens of seconds.
const STARTUP_TIMEOUT_MS = 90_000;

/** Spawn the workers, release them together once all are ready, and collect their reports. */
async function runWorkers(env: Record<string, string>, model: string, perWorker = PER_WORKER): Promise<WorkerReport[]> {
  const children: ChildProcessWithoutNullStreams[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<WorkerReport>[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        FERRY_ACTOR: `worker-${i}`,
        WORKER_COUNT: String(perWorker),
        WORKER_MODEL: model,
        WORKER_FIXTURE_OFFSET: String(i),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    let signalReady: () => void = () => undefined;
    ready.push(new Promise<void>((resolve, reject) => {
      signalReady = resolve;
      child.on('close', () => reject(new Error(`worker ${i} exited before it was ready: ${stderr}`)));
    }));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.startsWith('ready\n')) signalReady();
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    done.push(new Promise<WorkerReport>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`worker ${i} exited with ${code}: ${stderr}`));
        const last = stdout.trim().split('\n').at(-1) ?? '';
        resolve(JSON.parse(last) as WorkerReport);
      });
    }));
  }
  const timer = setTimeout(() => { for (const c of children) c.kill(); }, STARTUP_TIMEOUT_MS);
  try {
    await Promise.all(ready);
    // The barrier: every worker has opened the registry; release them all at once.
    for (const c of children) c.stdin.end('go\n');
    return await Promise.all(done);
  } finally {
    clearTimeout(timer);
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}

/** What every concurrent run must leave: versions 1..N×K, each from the worker that reported it, each loadable. */
async function checkConcurrentRun(app: Ferry, model: string, reports: readonly WorkerReport[], perWorker = PER_WORKER): Promise<void> {
  const total = WORKERS * perWorker;
  const expected = Array.from({ length: total }, (_, i) => i + 1);
  const all = reports.flatMap((r) => r.registered.map((x) => x.version));
  assert.deepEqual([...all].sort((a, b) => a - b), expected, 'every number 1..N×K exactly once');
  for (const r of reports) {
    const mine = r.registered.map((x) => x.version);
    assert.equal(mine.length, perWorker);
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `${r.actor} got increasing numbers`);
  }
  // The runs overlapped in time: every worker started before any worker finished.
  const lastStart = Math.max(...reports.map((r) => r.startedAt));
  const firstEnd = Math.min(...reports.map((r) => r.finishedAt));
  assert.ok(lastStart <= firstEnd, `workers did not overlap (last start ${lastStart}, first end ${firstEnd})`);

  const { registry } = app;
  const versions = await registry.store.listVersions(model, { includeArchived: true });
  assert.deepEqual(versions.map((v) => v.version), expected);
  assert.equal((await registry.store.getModel(model))?.lastVersion, total);
  const byVersion = new Map(reports.flatMap((r) => r.registered.map((x) => [x.version, { ...x, actor: r.actor }] as const)));
  const runtimes = new RuntimeCatalog();
  for (const v of versions) {
    const reported = byVersion.get(v.version);
    assert.ok(reported);
    assert.equal(v.createdBy, reported.actor, `version ${v.version} was registered by ${reported.actor}`);
    const fileBytes = readFileSync(fixturePath(reported.fixture as FixtureName));
    assert.equal(v.digest, sha256(fileBytes));
    assert.equal(v.digest, reported.digest);
    const bytes = await registry.loadArtifact(v);
    const model = await runtimes.get(v.format).load(bytes, {}, `${v.model}:${v.version}`);
    try {
      assert.deepEqual(model.signature(), v.signature);
    } finally {
      await model.close();
    }
  }
  // Exactly the blobs the versions use: none lost, no orphan.
  assert.deepEqual((await registry.artifacts.list()).sort(), [...new Set(versions.map((v) => v.digest))].sort());
}

interface CliError { error: { code: string; details: Record<string, unknown> } }

describe('concurrent registration (sqlite)', () => {
  const home = tempDir('ferry-conc-sqlite-');
  const busyHome = tempDir('ferry-busy-sqlite-');
  after(() => {
    home.cleanup();
    busyHome.cleanup();
  });

  it(`gives ${WORKERS} processes × ${PER_WORKER} registrations of one model the numbers 1..${WORKERS * PER_WORKER}`, { timeout: 60_000 }, async () => {
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
    try {
      const reports = await runWorkers({ FERRY_HOME: home.dir }, 'm');
      await checkConcurrentRun(app, 'm', reports);
    } finally {
      await app.close();
    }
  });

  it('lets processes open a brand-new registry at the same moment (migrated once)', { timeout: 60_000 }, async () => {
    const fresh = tempDir('ferry-conc-sqlite-fresh-');
    try {
      const reports = await runWorkers({ FERRY_HOME: fresh.dir }, 'first', 2);
      const app = await openFerry(loadConfig({ FERRY_HOME: fresh.dir }));
      try {
        await checkConcurrentRun(app, 'first', reports, 2);
      } finally {
        await app.close();
      }
      const db = new Database(join(fresh.dir, 'registry.db'), { readonly: true });
      try {
        const applied = (db.prepare('select name from ferry_migrations order by name').all() as { name: string }[]).map((r) => r.name);
        assert.deepEqual(applied, migrationNames(SQLITE_CAPABILITIES));
      } finally {
        db.close();
      }
    } finally {
      fresh.cleanup();
    }
  });

  it('fails with FERRY_E_REGISTRY_BUSY (exit 7) while another process holds the write lock', { timeout: 120_000 }, async () => {
    const app = await openFerry(loadConfig({ FERRY_HOME: busyHome.dir }));
    const versionsBefore = await app.registry.store.listVersions('busy', { includeArchived: true });
    const blobsBefore = (await app.registry.artifacts.list()).sort();
    await app.close();

    const lock = new Database(join(busyHome.dir, 'registry.db'));
    let result;
    try {
      lock.exec('BEGIN IMMEDIATE');
      const startedAt = Date.now();
      result = await ferryCli(['register', fixturePath('digits_cnn'), '--name', 'busy', '--json'], { FERRY_HOME: busyHome.dir, FERRY_BUSY_TIMEOUT_MS: '300' });
      assert.ok(Date.now() - startedAt >= 300, 'the CLI waited for the busy timeout');
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stderr, /FERRY_E_REGISTRY_BUSY/);
    const err = JSON.parse(result.stderr) as CliError;
    assert.equal(err.error.code, 'FERRY_E_REGISTRY_BUSY');
    assert.equal(err.error.details.timeoutMs, 300);
    assert.equal(result.stdout, '');

    const after = await openFerry(loadConfig({ FERRY_HOME: busyHome.dir }));
    try {
      assert.deepEqual(await after.registry.store.listVersions('busy', { includeArchived: true }), versionsBefore);
      assert.deepEqual((await after.registry.artifacts.list()).sort(), blobsBefore);
    } finally {
      await after.close();
    }
    // With the lock released the same command succeeds.
    const ok = await ferryCli(['register', fixturePath('digits_cnn'), '--name', 'busy', '--json'], { FERRY_HOME: busyHome.dir, FERRY_BUSY_TIMEOUT_MS: '300' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { version: number }).version, 1);
  });

  it('removes the blob it wrote when the lock times out at the metadata write', async () => {
    const app = await openFerry(loadConfig({ FERRY_HOME: busyHome.dir, FERRY_BUSY_TIMEOUT_MS: '200' }));
    const lock = new Database(join(busyHome.dir, 'registry.db'));
    try {
      const blobsBefore = (await app.registry.artifacts.list()).sort();
      const digest = sha256(readFileSync(fixturePath('wine_two_inputs')));
      assert.ok(!blobsBefore.includes(digest), 'the fixture must be new to this registry');
      lock.exec('BEGIN IMMEDIATE');
      try {
        await rejectsWith(app.registry.register({ path: fixturePath('wine_two_inputs'), name: 'busy', actor: 't' }), 'FERRY_E_REGISTRY_BUSY', { timeoutMs: 200 });
      } finally {
        lock.exec('ROLLBACK');
      }
      assert.deepEqual((await app.registry.artifacts.list()).sort(), blobsBefore);
      assert.deepEqual((await app.registry.store.listVersions('busy', { includeArchived: true })).map((v) => v.version), [1]);
      assert.equal((await app.registry.register({ path: fixturePath('wine_two_inputs'), name: 'busy', actor: 't' })).version, 2);
    } finally {
      lock.close();
      await app.close();
    }
  });
});

describe('concurrent registration (postgres)', () => {
  /** A migrated schema and artifacts home of the test's own, opened in this process. */
  async function withPgRegistry(fn: (app: Ferry, env: Record<string, string>, schema: string) => Promise<void>): Promise<void> {
    const home = tempDir('ferry-conc-pg-');
    const schema = await pgSchema('ferry_conc');
    try {
      const env = { FERRY_HOME: home.dir, FERRY_DATABASE_URL: schema.url };
      // Opening migrates, so the workers race on registration only.
      const app = await openFerry(loadConfig(env));
      try {
        await fn(app, env, schema.schema);
      } finally {
        await app.close();
      }
    } finally {
      await schema.cleanup();
      home.cleanup();
    }
  }

  it(`gives ${WORKERS} processes × ${PER_WORKER} registrations of one model the numbers 1..${WORKERS * PER_WORKER}`, { timeout: 60_000 }, async () => {
    await withPgRegistry(async (app, env) => {
      const reports = await runWorkers(env, 'm');
      await checkConcurrentRun(app, 'm', reports);
    });
  });

  it('lets processes create and migrate a brand-new schema at the same moment', { timeout: 60_000 }, async () => {
    const home = tempDir('ferry-conc-pg-fresh-');
    const schema = await pgSchema('ferry_fresh');
    try {
      const env = { FERRY_HOME: home.dir, FERRY_DATABASE_URL: schema.url };
      const reports = await runWorkers(env, 'first', 2);
      const app = await openFerry(loadConfig(env));
      try {
        await checkConcurrentRun(app, 'first', reports, 2);
      } finally {
        await app.close();
      }
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>(`select name from "${schema.schema}".ferry_migrations order by name`);
        assert.deepEqual(rows.map((r) => r.name), migrationNames(POSTGRES_CAPABILITIES));
      } finally {
        await client.end();
      }
    } finally {
      await schema.cleanup();
      home.cleanup();
    }
  });

  it('fails with FERRY_E_REGISTRY_BUSY (exit 7) while another transaction holds the model row', { timeout: 120_000 }, async () => {
    await withPgRegistry(async (app, baseEnv, schema) => {
      const env = { ...baseEnv, FERRY_BUSY_TIMEOUT_MS: '300' };
      const first = await ferryCli(['register', fixturePath('breast_mlp'), '--name', 'busy', '--json'], env);
      assert.equal(first.code, 0, first.stderr);
      const versionsBefore = await app.registry.store.listVersions('busy', { includeArchived: true });
      const blobsBefore = await app.registry.artifacts.list();
      assert.equal(blobsBefore.length, 1);

      const locker = new pg.Client({ connectionString: PG_URL });
      await locker.connect();
      let result;
      try {
        await locker.query('begin');
        const locked = await locker.query(`select name from "${schema}".models where name = 'busy' for update`);
        assert.equal(locked.rowCount, 1);
        result = await ferryCli(['register', fixturePath('wine_two_inputs'), '--name', 'busy', '--json'], env);
      } finally {
        await locker.query('rollback').catch(() => undefined);
        await locker.end();
      }
      assert.equal(result.code, 7, result.stderr);
      assert.match(result.stderr, /FERRY_E_REGISTRY_BUSY/);
      assert.equal((JSON.parse(result.stderr) as CliError).error.details.timeoutMs, 300);

      // Nothing was registered, and the blob the failed command wrote was removed.
      assert.deepEqual(await app.registry.store.listVersions('busy', { includeArchived: true }), versionsBefore);
      assert.equal((await app.registry.store.getModel('busy'))?.lastVersion, 1);
      assert.deepEqual(await app.registry.artifacts.list(), blobsBefore);

      const ok = await ferryCli(['register', fixturePath('wine_two_inputs'), '--name', 'busy', '--json'], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { version: number }).version, 2);
      assert.equal((await app.registry.artifacts.list()).length, 2);
    });
  });
});
