/**
 * Crash safety: a real `ferry batch run` process is SIGKILLed at (seeded) random moments,
 * several times, then resumed; every input row is in the output exactly once — for a JSONL
 * file, a Parquet file, a folder of part files and a PostgreSQL table, with the checkpoints in
 * a SQLite registry and in a PostgreSQL one. The rejects output is exactly-once too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { breastCsv, filesIn, readRows, seeded } from './helpers/batch.js';
import { FERRY_BIN, PG_URL, pgSchema, tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

const ROWS = 12_000;
const BAD = new Set([17, 5003, 11_999]);
const KILLS = 4;

/**
 * Spawn the command and SIGKILL it once it has committed `chunks` more chunks (one progress
 * line each) plus `extraMs`, so the kill lands anywhere inside the next chunk: reading,
 * scoring, writing the output, or writing the checkpoint.
 */
function runAndKill(args: readonly string[], env: Record<string, string>, chunks: number, extraMs: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args, '--progress-interval', '1'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let killed = false;
    let seen = 0;
    let buffer = '';
    child.stderr.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      seen += lines.filter((l) => l.includes('"progress"')).length;
      if (seen >= chunks && !killed) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.on('exit', (code) => resolve({ killed: killed && code === null, code }));
  });
}

describe('batch runs survive SIGKILL and resume exactly once', () => {
  const tmp = tempDir('ferry-crash-');
  const input = join(tmp.dir, 'input.csv');
  let pgCleanup: (() => Promise<void>) | undefined;
  before(() => {
    const lines = breastCsv(ROWS).trim().split('\n');
    for (const id of BAD) {
      const cells = lines[id + 1]!.split(',');
      cells[3] = 'oops';
      lines[id + 1] = cells.join(',');
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
  });
  after(async () => {
    tmp.cleanup();
    await pgCleanup?.();
  });

  const cases = [
    { name: 'JSONL file (truncate to checkpoint), SQLite registry', output: 'out.jsonl', registry: 'sqlite', seed: 1 },
    { name: 'Parquet file (staged parts, final name only when complete), SQLite registry', output: 'out.parquet', registry: 'sqlite', seed: 2 },
    { name: 'folder of Parquet parts (rename when complete), SQLite registry', output: 'parts/', registry: 'sqlite', seed: 3 },
    { name: 'PostgreSQL table (per-chunk transactions, unique run_id+key), PostgreSQL registry', output: 'pg', registry: 'postgres', seed: 4 },
    { name: 'JSONL file with --log-predictions: every output row\'s prediction is in the log, SQLite registry', output: 'logged.jsonl', registry: 'sqlite', seed: 5, log: true },
  ] as const;

  for (const c of cases) {
    it(c.name, async (t) => {
      const home = join(tmp.dir, `home-${c.seed}`);
      const env: Record<string, string> = { FERRY_HOME: home };
      let output = join(tmp.dir, `${c.seed}-${c.output}`);
      let schema = '';
      if (c.registry === 'postgres') {
        const s = await pgSchema('ferry_crash');
        pgCleanup = s.cleanup;
        schema = s.schema;
        env.FERRY_DATABASE_URL = s.url;
        output = `${PG_URL}?table=${schema}.scores`;
      }
      const reg = await runCli(['register', fixture('breast_mlp').model, '--name', 'bc'], env);
      assert.equal(reg.code, 0, reg.stderr);
      const rejects = join(tmp.dir, `${c.seed}-rejects.jsonl`);
      const args = ['batch', 'run', 'bc', '-i', input, '-o', output, '-k', 'id', '--rejects', rejects, '--chunk-size', '400', '--run-id', 'crash', ...('log' in c ? ['--log-predictions'] : [])];
      const random = seeded(c.seed);
      let midRun = 0;
      for (let k = 0; k < KILLS; k++) {
        const chunks = 1 + Math.floor(random() * 6);
        const extraMs = Math.floor(random() * 40);
        const ended = await runAndKill(args, env, chunks, extraMs);
        const runs = JSON.parse((await runCli(['batch', 'runs', '--json'], env)).stdout || '[]') as { status: string; chunks: number }[];
        const status = runs[0]?.status;
        if (ended.killed && status !== undefined && status !== 'succeeded') {
          assert.equal(status, 'interrupted', '`batch runs` tells a killed run from a running one');
          midRun++;
        }
        if (c.output === 'out.parquet' && status !== 'succeeded') assert.equal(existsSync(output), false, 'no Parquet file under its name before the run completes');
        t.diagnostic(`attempt ${k + 1}: kill ${extraMs} ms after ${chunks} more chunk(s) → ${ended.killed ? 'killed' : `exited ${ended.code}`}, run ${status ?? 'not created yet'} at chunk ${runs[0]?.chunks ?? 0}`);
      }
      t.diagnostic(`${midRun} of ${KILLS} kills landed in the middle of the run`);
      const resumed = await runCli(['batch', 'resume', 'crash', '--json'], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const summary = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as { rows: number; scored: number; rejected: number };
      assert.deepEqual([summary.rows, summary.scored, summary.rejected], [ROWS, ROWS - BAD.size, BAD.size]);

      let ids: number[];
      if (c.registry === 'postgres') {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        try {
          const { rows } = await client.query<{ id: string }>(`select id from "${schema}".scores order by id`);
          ids = rows.map((r) => Number(r.id));
        } finally {
          await client.end();
        }
      } else {
        const rows = await readRows(c.output === 'parts/' ? filesIn(output) : [output]);
        ids = rows.map((r) => r.id as number);
        if ('log' in c) {
          // A checkpointed row is never scored again: its logged prediction was written before the checkpoint.
          const db = new Database(join(home, 'registry.db'), { readonly: true });
          try {
            const logged = new Set((db.prepare('select id from prediction_log').pluck().all() as string[]));
            const missing = rows.filter((r) => !logged.has(String(r.prediction_id)));
            assert.equal(missing.length, 0, `output rows whose prediction is not in the log: ${missing.slice(0, 5).map((r) => String(r.id)).join(', ')}`);
          } finally {
            db.close();
          }
        }
        if (c.output === 'out.parquet') assert.equal(existsSync(join(tmp.dir, `.${c.seed}-out.parquet.parts`)), false, 'staged parts are removed');
      }
      const want = Array.from({ length: ROWS }, (_, i) => i).filter((i) => !BAD.has(i));
      assert.equal(ids.length, want.length, 'no row lost or duplicated');
      assert.deepEqual([...ids].sort((a, b) => a - b), want);
      const rejected = (await readRows([rejects])).map((r) => r.id as number);
      assert.deepEqual(rejected.sort((a, b) => a - b), [...BAD], 'each bad row is rejected exactly once');
    });
  }
});
