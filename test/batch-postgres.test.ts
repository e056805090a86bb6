/**
 * Batch against a real PostgreSQL: a table and a query as sources (keyset pages), a table as
 * the sink (unique run_id + key), incremental jobs on a timestamp watermark, and three shard
 * processes whose union equals one unsharded run — with the registry in PostgreSQL too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { breastCsv, readRows, strip } from './helpers/batch.js';
import { ferryCli, PG_URL, pgSchema, tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture } from './helpers/fixtures.js';

const ROWS = 3000;

describe('batch with PostgreSQL sources and sinks', () => {
  const tmp = tempDir('ferry-batch-pg-');
  const env: Record<string, string> = { FERRY_HOME: join(tmp.dir, 'home') };
  let schema = '';
  let cleanup: () => Promise<void> = () => Promise.resolve();
  const client = new pg.Client({ connectionString: PG_URL });
  const table = (name: string) => `${PG_URL}?table=${schema}.${name}`;
  const bc = fixture('breast_mlp');
  const features = readFileSync(bc.input, 'utf8').split('\n')[0]!.split(',').slice(1);

  before(async () => {
    const s = await pgSchema('ferry_batch');
    schema = s.schema;
    cleanup = s.cleanup;
    env.FERRY_DATABASE_URL = s.url;
    await client.connect();
    await client.query(`create schema if not exists "${schema}"`);
    await client.query(`create table "${schema}".src (id integer primary key, ${features.map((f) => `${f} double precision`).join(', ')}, updated_at timestamptz not null)`);
    const lines = breastCsv(ROWS).trim().split('\n').slice(1);
    for (let start = 0; start < lines.length; start += 500) {
      const values = lines.slice(start, start + 500).map((l) => {
        const cells = l.split(',');
        return `(${cells.join(', ')}, timestamptz '2026-01-01T00:00:00Z' + interval '1 minute' * ${cells[0]})`;
      });
      await client.query(`insert into "${schema}".src values ${values.join(', ')}`);
    }
    const reg = await runCli(['register', bc.model, '--name', 'bc'], env);
    assert.equal(reg.code, 0, reg.stderr);
  });
  after(async () => {
    await client.end();
    await cleanup();
    tmp.cleanup();
  });

  const scores = async (name: string, runId: string) => (await client.query<Record<string, unknown>>(`select * from "${schema}".${name} where run_id = $1 order by id`, [runId])).rows;

  it('table → table: every row once, reference predictions, unique (run_id, key)', async () => {
    const r = await runCli(['batch', 'run', 'bc', '-i', table('src'), '-o', table('scores'), '-k', 'id', '--passthrough', 'updated_at', '--chunk-size', '700', '--run-id', 'full'], env);
    assert.equal(r.code, 0, r.stderr);
    const rows = await scores('scores', 'full');
    assert.equal(rows.length, ROWS);
    assert.deepEqual(rows.map((x) => Number(x.id)), Array.from({ length: ROWS }, (_, i) => i));
    assertMatchesReference(bc, rows.slice(0, 50).map((x) => ({ label: Number(x.label), probabilities: x.probabilities })));
    const constraint = await client.query(`select pg_get_constraintdef(c.oid) as def from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = $1 and c.contype = 'u'`, [schema]);
    assert.deepEqual(constraint.rows.map((x: { def: string }) => x.def), ['UNIQUE (run_id, id)']);
  });

  it('a query as the source, written to a file, equals the same rows from a CSV file', async () => {
    const out = join(tmp.dir, 'query.jsonl');
    const r = await runCli(['batch', 'run', 'bc', '-i', PG_URL, '--query', `select id, ${features.join(', ')} from "${schema}".src where id < 120`, '-o', out, '-k', 'id', '--chunk-size', '50'], env);
    assert.equal(r.code, 0, r.stderr);
    const csv = join(tmp.dir, 'same.csv');
    await import('node:fs').then((fs) => fs.writeFileSync(csv, breastCsv(120)));
    const fromCsv = join(tmp.dir, 'from-csv.jsonl');
    assert.equal((await runCli(['batch', 'run', 'bc', '-i', csv, '-o', fromCsv, '-k', 'id'], env)).code, 0);
    assert.deepEqual((await readRows([out])).map(strip), (await readRows([fromCsv])).map(strip));
  });

  it('three shard processes at once: disjoint, and their union equals the unsharded run', async () => {
    const shards = await Promise.all([0, 1, 2].map((i) => ferryCli(['batch', 'run', 'bc', '-i', table('src'), '-o', table('scores'), '-k', 'id', '--passthrough', 'updated_at', '--chunk-size', '400', '--run-id', 'sharded', '--shard', `${i}/3`, '--json'], env)));
    for (const s of shards) assert.equal(s.code, 0, s.stderr);
    const counts = shards.map((s) => JSON.parse(s.stdout.trim().split('\n').at(-1)!) as { rows: number; skipped: number });
    assert.equal(counts.reduce((n, c) => n + c.rows, 0), ROWS, 'every row in exactly one shard');
    assert.ok(counts.every((c) => c.rows > ROWS / 6 && c.rows + c.skipped === ROWS), JSON.stringify(counts));
    const union = (await scores('scores', 'sharded')).map((x) => [Number(x.id), x.label, x.probabilities]);
    const single = (await scores('scores', 'full')).map((x) => [Number(x.id), x.label, x.probabilities]);
    assert.deepEqual(union, single);
    const runs = JSON.parse((await runCli(['batch', 'runs', '--json'], env)).stdout) as { id: string; shard: unknown }[];
    assert.deepEqual(runs.filter((x) => x.id.startsWith('sharded')).map((x) => x.id).sort(), ['sharded.shard-0-of-3', 'sharded.shard-1-of-3', 'sharded.shard-2-of-3']);
  });

  it('an incremental job on a timestamp watermark scores only new rows each run', async () => {
    const create = await runCli(['batch', 'job', 'create', 'hourly', '-m', 'bc', '-i', table('src'), '-o', table('job_scores'), '-k', 'id', '--passthrough', 'updated_at', '--watermark', 'updated_at', '--chunk-size', '1000'], env);
    assert.equal(create.code, 0, create.stderr);
    const first = await runCli(['batch', 'job', 'run', 'hourly', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { rows: number }).rows, ROWS);
    await client.query(`insert into "${schema}".src select id + ${ROWS}, ${features.join(', ')}, updated_at + interval '1 year' from "${schema}".src where id < 25`);
    const second = await runCli(['batch', 'job', 'run', 'hourly', '--json'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { rows: number }).rows, 25);
    const third = await runCli(['batch', 'job', 'run', 'hourly', '--json'], env);
    assert.equal((JSON.parse(third.stdout) as { rows: number }).rows, 0);
    const all = await client.query<{ n: string; distinct_ids: string }>(`select count(*) as n, count(distinct id) as distinct_ids from "${schema}".job_scores`);
    assert.deepEqual([Number(all.rows[0]!.n), Number(all.rows[0]!.distinct_ids)], [ROWS + 25, ROWS + 25]);
    const jobs = JSON.parse((await runCli(['batch', 'job', 'list', '--json'], env)).stdout) as { name: string; highWater: string }[];
    assert.match(JSON.parse(jobs[0]!.highWater) as string, /^2027-01-01/);
    const history = JSON.parse((await runCli(['batch', 'runs', 'hourly', '--json'], env)).stdout) as { status: string; rowsIn: number }[];
    assert.deepEqual(history.map((h) => [h.status, h.rowsIn]), [['succeeded', 0], ['succeeded', 25], ['succeeded', ROWS]]);
  });
});
