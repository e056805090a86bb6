/**
 * Shards read only their share: the shard hash (2) is one definition in JavaScript, DuckDB SQL
 * and PostgreSQL SQL (they agree on ints, text, mixed and NULL keys), and n shard processes
 * together read the input once — per-shard rows read sum to the input's rows, each shard's
 * output holds exactly its rows, and the union equals an unsharded run (CSV and Parquet).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { openDuckDb } from '../src/batch/duckdb.js';
import { openSource } from '../src/batch/io.js';
import { duckShardSql, pgShardSql, shardOf } from '../src/batch/shard.js';
import type { RunSpec } from '../src/batch/types.js';
import type { Cell } from '../src/core/frame.js';
import { runCli } from './helpers/cli.js';
import { breastCsv, csvToParquet, readRows, strip } from './helpers/batch.js';
import { FERRY_BIN, PG_URL, tempDir } from './helpers/env.js';
import { fixture, inputColumnFlags } from './helpers/fixtures.js';

const N = 7;
const ints = [...Array.from({ length: 400 }, (_, i) => i * 37 - 2000), 0, -1, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 1e16, 123456789012345680];
const texts = ['', 'a', 'A', 'é', '日本', 'a b', "it's", 'x"y', 'tab\there', '007', '7.5', 'null', ...Array.from({ length: 200 }, (_, i) => `key-${i * 7919}`)];
const mixed: [number | null, string | null][] = [...ints.slice(0, 150).map((n, i): [number, string] => [n, texts[i % texts.length]!]), [null, 'a'], [3, null], [null, null]];
const sqlText = (t: string) => `'${t.replaceAll("'", "''")}'`;
const sqlInt = (n: number | null) => (n === null ? 'null' : String(n));

describe('shard hash 2: JavaScript, DuckDB and PostgreSQL agree', () => {
  it('DuckDB: ints as BIGINT, DOUBLE and VARCHAR; text; mixed keys with NULLs', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      const shardsOf = async (rows: string, cols: { sql: string; type: string }[]) => {
        const out: number[] = [];
        for (let i = 0; i < N; i++) {
          const r = await c.runAndReadAll(`select n from (${rows}) where ${duckShardSql(cols, { index: i, count: N })} order by n`);
          for (const [n] of r.getRows()) out[Number(n)] = i;
        }
        return out;
      };
      const intRows = (type: string) => `select * from (values ${ints.map((v, n) => `(${n}, (${v})::${type}, (${v})::varchar)`).join(', ')}) t(n, k, s)`;
      const expectInts = ints.map((v) => shardOf([v], N, 2));
      assert.deepEqual(await shardsOf(intRows('bigint'), [{ sql: 'k', type: 'BIGINT' }]), expectInts);
      assert.deepEqual(await shardsOf(intRows('double'), [{ sql: 'k', type: 'DOUBLE' }]), expectInts);
      assert.deepEqual(await shardsOf(intRows('bigint'), [{ sql: 's', type: 'VARCHAR' }]), expectInts);
      assert.deepEqual(await shardsOf(`select * from (values ${[1.5, -0.25, 1e-7, 123456.789].map((v, n) => `(${n}, (${v})::double)`).join(', ')}) t(n, k)`, [{ sql: 'k', type: 'DOUBLE' }]), [1.5, -0.25, 1e-7, 123456.789].map((v) => shardOf([v], N, 2)));
      assert.deepEqual(await shardsOf(`select * from (values ${texts.map((t, n) => `(${n}, ${sqlText(t)})`).join(', ')}) t(n, k)`, [{ sql: 'k', type: 'VARCHAR' }]), texts.map((t) => shardOf([t], N, 2)));
      const mixedRows = `select * from (values ${mixed.map(([a, b], n) => `(${n}, ${sqlInt(a)}::bigint, ${b === null ? 'null' : sqlText(b)}::varchar)`).join(', ')}) t(n, a, b)`;
      assert.deepEqual(await shardsOf(mixedRows, [{ sql: 'a', type: 'BIGINT' }, { sql: 'b', type: 'VARCHAR' }]), mixed.map((k) => shardOf(k as Cell[], N, 2)));
      const spread = new Set(expectInts);
      assert.equal(spread.size, N, 'every shard gets keys');
    } finally {
      c.closeSync();
      db.closeSync();
    }
  });

  it('PostgreSQL: int8, float8 and text keys; mixed keys with NULLs', async (t) => {
    const client = new pg.Client({ connectionString: PG_URL });
    try {
      await client.connect();
    } catch {
      t.skip('no PostgreSQL');
      return;
    }
    try {
      const shardsOf = async (rows: string, cols: { sql: string; float: boolean }[]) => {
        const out: number[] = [];
        for (let i = 0; i < N; i++) {
          const r = await client.query<{ n: number }>(`select n from (${rows}) t where ${pgShardSql(cols, { index: i, count: N })} order by n`);
          for (const { n } of r.rows) out[Number(n)] = i;
        }
        return out;
      };
      const intRows = (type: string) => `select * from (values ${ints.map((v, n) => `(${n}, (${v})::${type})`).join(', ')}) v(n, k)`;
      const expectInts = ints.map((v) => shardOf([v], N, 2));
      assert.deepEqual(await shardsOf(intRows('int8'), [{ sql: 'k', float: false }]), expectInts);
      assert.deepEqual(await shardsOf(intRows('float8'), [{ sql: 'k', float: true }]), expectInts);
      assert.deepEqual(await shardsOf(`select * from (values ${[1.5, -0.25, 123456.789].map((v, n) => `(${n}, (${v})::float8)`).join(', ')}) v(n, k)`, [{ sql: 'k', float: true }]), [1.5, -0.25, 123456.789].map((v) => shardOf([v], N, 2)));
      assert.deepEqual(await shardsOf(`select * from (values ${texts.map((x, n) => `(${n}, ${sqlText(x)})`).join(', ')}) v(n, k)`, [{ sql: 'k', float: false }]), texts.map((x) => shardOf([x], N, 2)));
      const mixedRows = `select * from (values ${mixed.map(([a, b], n) => `(${n}, ${sqlInt(a)}::int8, ${b === null ? 'null' : sqlText(b)}::text)`).join(', ')}) v(n, a, b)`;
      assert.deepEqual(await shardsOf(mixedRows, [{ sql: 'a', float: false }, { sql: 'b', float: false }]), mixed.map((k) => shardOf(k as Cell[], N, 2)));
    } finally {
      await client.end();
    }
  });
});

describe('shard processes together read the input once', () => {
  const ROWS = 2500;
  const tmp = tempDir('ferry-batch-shard-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const csv = join(tmp.dir, 'in.csv');
  const parquet = join(tmp.dir, 'in.parquet');
  const f = fixture('breast_mlp');

  before(async () => {
    writeFileSync(csv, breastCsv(ROWS));
    await csvToParquet(csv, parquet);
    const r = await runCli(['register', f.model, '--name', 'bc', ...inputColumnFlags(f)], env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => tmp.cleanup());

  it('a run stored without a shard hash (created before hash 2) keeps hash 1: the whole input, filtered in JavaScript', async () => {
    const duck = await openDuckDb();
    try {
      const spec = { input: csv, files: [csv], output: 'x.csv', key: ['id'], passthrough: [], chunkSize: 1000, workers: 1, runId: 'r', modelRef: 'bc', model: 'bc', version: 1, shard: { index: 2, count: 3 } } satisfies RunSpec;
      const readAll = async (s: RunSpec) => {
        const source = await openSource(s, duck);
        const ids: number[] = [];
        const sharded: boolean[] = [];
        for await (const chunk of source.read(undefined, 1000)) {
          sharded.push(chunk.sharded === true);
          ids.push(...(chunk.frame.column('id') ?? []).map(Number));
        }
        await source.close();
        return { ids, sharded };
      };
      const old = await readAll(spec);
      assert.equal(old.ids.length, ROWS);
      assert.ok(old.sharded.every((x) => !x));
      const now = await readAll({ ...spec, shardHash: 2 });
      assert.ok(now.sharded.every((x) => x));
      assert.deepEqual(now.ids, Array.from({ length: ROWS }, (_, i) => i).filter((i) => shardOf([i], 3, 2) === 2));
    } finally {
      duck.close();
    }
  });

  it('row places come from the file, even when it has a column named "ordinality" (CSV and Parquet)', async () => {
    const odd = join(tmp.dir, 'odd.csv');
    const oddParquet = join(tmp.dir, 'odd.parquet');
    const lines = breastCsv(ROWS).trim().split('\n');
    writeFileSync(odd, `${lines.map((l, i) => `${l},${i === 0 ? 'ordinality' : 7}`).join('\n')}\n`);
    await csvToParquet(odd, oddParquet);
    const duck = await openDuckDb();
    try {
      for (const file of [odd, oddParquet]) {
        const spec = { input: file, files: [file], output: 'x.csv', key: ['id'], passthrough: ['ordinality'], chunkSize: 500, workers: 1, runId: 'r', modelRef: 'bc', model: 'bc', version: 1, shard: { index: 1, count: 3 }, shardHash: 2 } satisfies RunSpec;
        const source = await openSource(spec, duck);
        const ids: number[] = [];
        let ends = 0;
        for await (const chunk of source.read({ kind: 'files', file: 0, row: 100 }, 500)) {
          const col = chunk.frame.column('id') ?? [];
          col.forEach((id, i) => assert.equal(chunk.position(i).row, Number(id) + 1, `${file}: row of id ${String(id)}`));
          assert.equal(chunk.end.kind === 'files' ? chunk.end.row : -1, Number(col.at(-1)) + 1);
          ids.push(...col.map(Number));
          ends++;
        }
        await source.close();
        assert.ok(ends > 1);
        assert.deepEqual(ids, Array.from({ length: ROWS }, (_, i) => i).filter((i) => i >= 100 && shardOf([i], 3, 2) === 1), `${file}: resumed after row 100`);
      }
    } finally {
      duck.close();
    }
  });

  it('JSON Lines (filtered in the process, hash 2): each shard has exactly its rows and the union is the input', async () => {
    const jsonl = join(tmp.dir, 'in.jsonl');
    const [header, ...lines] = breastCsv(ROWS).trim().split('\n');
    const names = header!.split(',');
    writeFileSync(jsonl, `${lines.map((l) => JSON.stringify(Object.fromEntries(l.split(',').map((v, i) => [names[i], Number(v)])))).join('\n')}\n`);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['batch', 'run', 'bc', '-i', jsonl, '-o', join(tmp.dir, 'jsonl-s.csv'), '-k', 'id', '--run-id', 'jsonl-s', '--shard', `${i}/3`, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rows: number; read: number; skipped: number };
      assert.deepEqual([summary.read, summary.rows + summary.skipped], [ROWS, ROWS]);
      const rows = await readRows([join(tmp.dir, `jsonl-s.shard-${i}-of-3.csv`)]);
      for (const row of rows) assert.equal(shardOf([Number(row.id)], 3, 2), i);
      ids.push(...rows.map((row) => Number(row.id)));
    }
    assert.deepEqual(ids.sort((a, b) => a - b), Array.from({ length: ROWS }, (_, i) => i));
  });

  for (const [name, input] of [['CSV', csv], ['Parquet', parquet]] as const) {
    it(`${name}: per-shard rows read sum to the input, each shard has exactly its rows, the union is the unsharded run`, async () => {
      const tag = name.toLowerCase();
      const whole = await runCli(['batch', 'run', 'bc', '-i', input, '-o', join(tmp.dir, `${tag}-all.csv`), '-k', 'id', '--chunk-size', '300', '--run-id', `${tag}-all`, '--json'], env);
      assert.equal(whole.code, 0, whole.stderr);
      const expected = (await readRows([join(tmp.dir, `${tag}-all.csv`)])).map(strip);
      assert.equal(expected.length, ROWS);
      const union: Record<string, unknown>[] = [];
      let read = 0;
      for (let i = 0; i < 3; i++) {
        const r = await runCli(['batch', 'run', 'bc', '-i', input, '-o', join(tmp.dir, `${tag}-s.csv`), '-k', 'id', '--chunk-size', '300', '--run-id', `${tag}-s`, '--shard', `${i}/3`, '--json', '--progress-interval', '1'], env);
        assert.equal(r.code, 0, r.stderr);
        // Progress moves through the input: rows the query passed over (other shards') count as they go.
        const progress = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes('"progress"')).map((l) => JSON.parse(l) as { rows: number; scored: number });
        assert.ok(progress.length >= 2, 'progress lines');
        assert.ok(progress[0]!.rows > progress[0]!.scored * 2, JSON.stringify(progress[0]));
        const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rows: number; read: number; skipped: number };
        // Rows read by this shard: its own rows, none of the others' (which still count as skipped).
        assert.equal(summary.read, summary.rows);
        assert.equal(summary.rows + summary.skipped, ROWS);
        read += summary.read;
        const rows = (await readRows([join(tmp.dir, `${tag}-s.shard-${i}-of-3.csv`)])).map(strip);
        assert.ok(rows.length > ROWS / 6, `shard ${i} has a fair share (${rows.length})`);
        for (const row of rows) assert.equal(shardOf([Number(row.id)], 3, 2), i, `row ${String(row.id)} in shard ${i}`);
        assert.equal(summary.rows, rows.length);
        union.push(...rows);
      }
      assert.equal(read, ROWS, 'the shards together read the input once');
      const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => Number(a.id) - Number(b.id);
      assert.deepEqual(union.sort(byId), expected.sort(byId));
    });
  }
});

describe('a shard run killed and resumed reads on from its checkpoint, exactly once', () => {
  const ROWS = 9000;
  const tmp = tempDir('ferry-shard-crash-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const input = join(tmp.dir, 'in.csv');
  const mine = Array.from({ length: ROWS }, (_, i) => i).filter((i) => shardOf([i], 3, 2) === 1);
  // Bad rows of this shard early, in the middle and last: their reject positions are their rows in the file.
  const bad = [mine[3]!, mine[Math.floor(mine.length / 2)]!, mine.at(-1)!];

  before(async () => {
    const lines = breastCsv(ROWS).trim().split('\n');
    for (const id of [...bad, 1 + mine[5]!]) {
      const cells = lines[id + 1]!.split(',');
      cells[3] = 'oops';
      lines[id + 1] = cells.join(',');
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
    const r = await runCli(['register', fixture('breast_mlp').model, '--name', 'bc'], env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => tmp.cleanup());

  it('CSV → JSONL, shard 1/3: killed three times, then resumed', async (t) => {
    const output = join(tmp.dir, 'out.jsonl');
    const rejects = join(tmp.dir, 'rejects.jsonl');
    const args = ['batch', 'run', 'bc', '-i', input, '-o', output, '-k', 'id', '--rejects', rejects, '--chunk-size', '200', '--run-id', 'crash', '--shard', '1/3', '--progress-interval', '1'];
    for (const [chunks, ms] of [[2, 5], [3, 20], [4, 0]] as const) {
      const killed = await new Promise<boolean>((resolve) => {
        const child = spawn(process.execPath, [FERRY_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
        let seen = 0;
        let sent = false;
        child.stderr.on('data', (d: Buffer) => {
          seen += d.toString().split('"progress"').length - 1;
          if (seen >= chunks && !sent) {
            sent = true;
            setTimeout(() => child.kill('SIGKILL'), ms);
          }
        });
        child.on('exit', (code) => resolve(code === null));
      });
      t.diagnostic(`kill after ${chunks} chunk(s) + ${ms} ms: ${killed ? 'killed' : 'finished'}`);
    }
    const resumed = await runCli(['batch', 'resume', 'crash.shard-1-of-3', '--json'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as { rows: number; read: number; scored: number; rejected: number; skipped: number };
    assert.deepEqual([summary.rows, summary.read, summary.scored, summary.rejected, summary.rows + summary.skipped], [mine.length, mine.length, mine.length - bad.length, bad.length, ROWS]);
    const ids = (await readRows([join(tmp.dir, 'out.shard-1-of-3.jsonl')])).map((r) => Number(r.id)).sort((a, b) => a - b);
    assert.deepEqual(ids, mine.filter((i) => !bad.includes(i)), 'each row of the shard once, no other shard\'s row');
    const rejected = (await readRows([join(tmp.dir, 'rejects.shard-1-of-3.jsonl')])).map((r) => [Number(r.id), String(r.source_row)]).sort((a, b) => Number(a[0]) - Number(b[0]));
    assert.deepEqual(rejected, bad.map((id) => [id, String(id + 1)]), 'each bad row rejected once, at its row in the file');
  });
});
