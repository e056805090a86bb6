/**
 * No overlap: a run or job is leased in the registry, which holds across processes (and, on
 * PostgreSQL, across machines). Two real processes on SQLite and on PostgreSQL; the lease
 * rules (expiry, renewal, fencing of checkpoints, a dead local holder) on both stores.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AREA_MIGRATIONS } from '../src/main/ferry.js';
import { BatchStore, newOwner } from '../src/batch/store.js';
import type { RunSpec } from '../src/batch/types.js';
import { openPostgresStore } from '../src/registry/postgres-store.js';
import { openSqliteStore } from '../src/registry/sqlite-store.js';
import type { KyselyRegistryStore } from '../src/registry/kysely-store.js';
import { runCli } from './helpers/cli.js';
import { breastCsv } from './helpers/batch.js';
import { FERRY_BIN, ferryCli, pgSchema, tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

const SPEC: RunSpec = { runId: 'r', modelRef: 'm', model: 'm', version: 1, input: 'in.csv', output: 'out.jsonl', key: [], passthrough: [], chunkSize: 10, workers: 1 };

interface Dialect {
  name: string;
  open(): Promise<{ store: KyselyRegistryStore; env: Record<string, string>; cleanup: () => Promise<void> }>;
}

const dialects: Dialect[] = [
  {
    name: 'SQLite',
    async open() {
      const tmp = tempDir('ferry-lock-');
      const home = join(tmp.dir, 'home');
      const store = await openSqliteStore({ path: join(home, 'registry.db'), busyTimeoutMs: 5000, migrations: AREA_MIGRATIONS });
      return { store, env: { FERRY_HOME: home }, cleanup: async () => { await store.close(); tmp.cleanup(); } };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const tmp = tempDir('ferry-lock-');
      const s = await pgSchema('ferry_lock');
      const store = await openPostgresStore({ url: s.url, busyTimeoutMs: 5000, migrations: AREA_MIGRATIONS });
      return { store, env: { FERRY_HOME: join(tmp.dir, 'home'), FERRY_DATABASE_URL: s.url }, cleanup: async () => { await store.close(); await s.cleanup(); tmp.cleanup(); } };
    },
  },
];

/** Start a batch command and resolve once it has committed its first chunk (the run is leased by then). */
function startUntilFirstChunk(args: readonly string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [FERRY_BIN, ...args, '--progress-interval', '1'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => { if (d.toString().includes('"progress"')) resolve(); });
    void exited.then((code) => reject(new Error(`exited ${code} before its first chunk`)));
  });
  return { child, started, exited, output: () => out };
}

for (const d of dialects) {
  describe(`batch leases on ${d.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => { for (const c of cleanups) await c(); });

    it('a lease excludes other owners until it expires or is released; renewals extend it', async () => {
      const { store, cleanup } = await d.open();
      cleanups.push(cleanup);
      const batch = new BatchStore(store.database);
      const a = `${hostname()}/1/a`;
      const b = 'elsewhere/1/b';
      assert.deepEqual(await batch.acquire('job:x', a, 60_000), { ok: true });
      const refused = await batch.acquire('job:x', b, 60_000);
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.owner, a);
      assert.equal(await batch.renew('job:x', a, 60_000), true);
      assert.equal(await batch.renew('job:x', b, 60_000), false);
      await batch.release('job:x', a);
      assert.deepEqual(await batch.acquire('job:x', b, 1), { ok: true });
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await batch.acquire('job:x', a, 60_000), { ok: true }, 'an expired lease is taken over');
    });

    it('a lease held by a process of this host that no longer exists (or an earlier process with our pid) is taken over at once', async () => {
      const { store, cleanup } = await d.open();
      cleanups.push(cleanup);
      const batch = new BatchStore(store.database);
      const gone = spawn(process.execPath, ['-e', '']);
      await new Promise((r) => gone.on('exit', r));
      assert.deepEqual(await batch.acquire('run:r', `${hostname()}/${gone.pid}/x`, 60_000), { ok: true });
      const me = newOwner();
      assert.deepEqual(await batch.acquire('run:r', me, 60_000), { ok: true });
      assert.equal((await batch.acquire('run:r', `${hostname()}/${gone.pid}/z`, 60_000)).ok, false, 'a live holder keeps it');
      assert.equal((await batch.acquire('run:r', newOwner(), 60_000)).ok, false, 'another owner in the same process waits too');
      await batch.release('run:r', me);
      assert.deepEqual(await batch.acquire('run:q', `${hostname()}/${process.pid}/1-abc`, 60_000), { ok: true });
      assert.deepEqual(await batch.acquire('run:q', me, 60_000), { ok: true }, 'our pid, but started at another time: a restarted container\'s earlier process');
    });

    it('checkpoints are fenced: only the run\'s current owner moves them', async () => {
      const { store, cleanup } = await d.open();
      cleanups.push(cleanup);
      const batch = new BatchStore(store.database);
      await batch.createRun('r', SPEC, 100);
      await batch.startRun('r', 'owner-a');
      const cp = { seq: 1, source: { kind: 'files' as const, file: 0, row: 10 }, sink: { bytes: 5 }, rejects: null, highWater: null };
      await batch.checkpoint('r', 'owner-a', cp, { rowsIn: 10, scored: 10, rejected: 0, skipped: 0 }, 5);
      await batch.startRun('r', 'owner-b');
      await assert.rejects(batch.checkpoint('r', 'owner-a', { ...cp, seq: 2 }, { rowsIn: 20, scored: 20, rejected: 0, skipped: 0 }, 9), /FERRY_E_BATCH_LEASE_LOST|lost its lease/);
      const run = await batch.requireRun('r');
      assert.deepEqual([run.chunks, run.counts.rowsIn, run.checkpoint?.sink], [1, 10, { bytes: 5 }]);
      const { created } = await batch.createRun('r', SPEC, 100);
      assert.equal(created, false, 'a second create of the same id returns the existing run');
    });

    it('two processes: the second `batch run` of a running run, and the second `job run` of a running job, are refused', async () => {
      const { env, cleanup } = await d.open();
      cleanups.push(cleanup);
      const input = join(env.FERRY_HOME!, '..', 'in.csv');
      writeFileSync(input, breastCsv(4000));
      assert.equal((await runCli(['register', fixture('breast_mlp').model, '--name', 'bc'], env)).code, 0);
      const args = ['batch', 'run', 'bc', '-i', input, '-o', join(env.FERRY_HOME!, '..', 'out.jsonl'), '-k', 'id', '--chunk-size', '200', '--run-id', 'once'];
      const first = startUntilFirstChunk(args, env);
      await first.started;
      first.child.kill('SIGSTOP'); // alive but frozen: its lease stands, whatever the machine's speed
      try {
        const second = await ferryCli(args, env);
        assert.equal(second.code, 6, second.stderr);
        assert.match(second.stderr, /FERRY_E_BATCH_LOCKED: Batch run "once" is already running \(held by [^/]+\/\d+\//);
        const [running] = JSON.parse((await runCli(['batch', 'runs', '--json'], env)).stdout) as { id: string; status: string; total: number; rowsIn: number; progress: string }[];
        assert.deepEqual([running!.id, running!.status, running!.total], ['once', 'running', 4000], '`batch runs` shows the running run');
        assert.ok(running!.rowsIn >= 200 && running!.rowsIn < 4000);
        assert.match(running!.progress, /^\d+% \d+\/4000/);
      } finally {
        first.child.kill('SIGCONT');
      }
      assert.equal(await first.exited, 0);

      assert.equal((await runCli(['batch', 'job', 'create', 'j', '-m', 'bc', '-i', input, '-o', join(env.FERRY_HOME!, '..', 'job-out/'), '-k', 'id', '--chunk-size', '200'], env)).code, 0);
      const job = startUntilFirstChunk(['batch', 'job', 'run', 'j'], env);
      await job.started;
      job.child.kill('SIGSTOP');
      try {
        const again = await ferryCli(['batch', 'job', 'run', 'j'], env);
        assert.equal(again.code, 6, again.stderr);
        assert.match(again.stderr, /Batch job "j" is already running/);
      } finally {
        job.child.kill('SIGCONT');
      }
      assert.equal(await job.exited, 0);
      const runs = JSON.parse((await runCli(['batch', 'runs', 'j', '--json'], env)).stdout) as { status: string; rowsIn: number }[];
      assert.deepEqual(runs.map((r) => [r.status, r.rowsIn]), [['succeeded', 4000]], 'the refused attempt left no run behind');
    });
  });
}
