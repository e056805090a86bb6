/**
 * `ferry export --target sql`: the query, run in the real PostgreSQL and in DuckDB against the
 * fixture rows, gives the server's predictions (`ferry predict`) column by column — float32
 * comparisons and sums for XGBoost, double for LightGBM, missing values by default direction.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { PG_URL, pgSchema, ROOT, tempDir } from './helpers/env.js';

const CASES: { name: string; model: string; input: string; register?: string[]; pmml?: boolean }[] = [
  { name: 'x_binary_nan', model: 'fixtures/xgboost/breast_nan/model.json', input: 'fixtures/xgboost/breast_nan/input.csv' },
  { name: 'x_softprob', model: 'fixtures/xgboost/iris_softprob/model.json', input: 'fixtures/xgboost/iris_softprob/input.csv' },
  // No feature names in this model: the mapping given at registration names the columns.
  { name: 'x_softmax', model: 'fixtures/xgboost/iris_softmax/model.json', input: 'fixtures/xgboost/iris_softmax/input.csv', register: ['--input-columns', 'input=f0,f1,f2,f3'] },
  { name: 'x_reg', model: 'fixtures/xgboost/diabetes_reg/model.json', input: 'fixtures/xgboost/diabetes_reg/input.csv' },
  { name: 'x_linear', model: 'fixtures/xgboost/diabetes_linear/model.json', input: 'fixtures/xgboost/diabetes_linear/input.csv' },
  { name: 'x_dart', model: 'fixtures/xgboost/diabetes_dart/model.json', input: 'fixtures/xgboost/diabetes_dart/input.csv' },
  { name: 'x_poisson', model: 'fixtures/xgboost/diabetes_poisson/model.json', input: 'fixtures/xgboost/diabetes_poisson/input.csv' },
  { name: 'l_binary_missing', model: 'fixtures/lightgbm/binary_missing/model.txt', input: 'fixtures/lightgbm/binary_missing/input.csv' },
  { name: 'l_multiclass', model: 'fixtures/lightgbm/multiclass/model.txt', input: 'fixtures/lightgbm/multiclass/input.csv' },
  { name: 'l_forest', model: 'fixtures/lightgbm/random_forest/model.txt', input: 'fixtures/lightgbm/random_forest/input.csv' },
  { name: 'l_tweedie', model: 'fixtures/lightgbm/tweedie/model.txt', input: 'fixtures/lightgbm/tweedie/input.csv' },
  // PMML: a tree with missing values replaced by the MiningSchema, a 100-tree forest (average), softmax and linear regressions.
  { name: 'p_tree_missing', model: 'fixtures/pmml/cases/sklearn-tree-missing/model.pmml', input: 'fixtures/pmml/cases/sklearn-tree-missing/input.csv', pmml: true },
  { name: 'p_forest', model: 'fixtures/pmml/forest.pmml', input: 'fixtures/pmml/cases/sklearn-forest/input.csv', pmml: true },
  { name: 'p_logistic', model: 'fixtures/pmml/cases/sklearn-logistic/model.pmml', input: 'fixtures/pmml/cases/sklearn-logistic/input.csv', pmml: true },
  { name: 'p_linear', model: 'fixtures/pmml/cases/sklearn-linear/model.pmml', input: 'fixtures/pmml/cases/sklearn-linear/input.csv', pmml: true },
];

/** A PMML case's CSV as the other fixtures are: an id column first, missing values as empty cells (the corpus writes NA). */
function withIds(path: string, out: string): string {
  const [head = '', ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  writeFileSync(out, [`id,${head}`, ...lines.map((l, i) => `${i + 1},${l.split(',').map((v) => (v === 'NA' ? '' : v)).join(',')}`)].join('\n') + '\n');
  return out;
}

/** The CSV as a header and rows of numbers (null for empty cells). */
function readCsv(path: string): { header: string[]; rows: (number | null)[][] } {
  const [head = '', ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  return { header: head.split(','), rows: lines.map((l) => l.split(',').map((v) => (v === '' ? null : Number(v)))) };
}

/** `ferry predict` JSONL rows flattened to CSV column names (probabilities → probabilities_0, …). */
function flatten(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (name: string, v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => put(`${name}_${i}`, x));
    else out[name] = v;
  };
  for (const [k, v] of Object.entries(record)) put(k, v);
  return out;
}

function assertSame(got: Record<string, unknown>[], want: Record<string, unknown>[], where: string): void {
  const byId = new Map(got.map((r) => [Number(r.id), r]));
  assert.equal(got.length, want.length, `${where}: row count`);
  for (const w of want) {
    const g = byId.get(Number(w.id));
    assert.ok(g, `${where}: row id ${String(w.id)} missing`);
    for (const [k, v] of Object.entries(w)) {
      const gv: unknown = typeof g[k] === 'bigint' ? Number(g[k]) : g[k];
      if (typeof v === 'number') {
        // REAL comes back as float32 from both databases: compare at float32 precision.
        assert.ok(typeof gv === 'number' && Math.abs(gv - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${where} id ${String(w.id)} ${k}: ${String(gv)} vs ${v}`);
      } else {
        assert.deepEqual(gv, v, `${where} id ${String(w.id)} ${k}`);
      }
    }
  }
}

describe('ferry export --target sql (PostgreSQL and DuckDB)', () => {
  const tmp = tempDir('ferry-edge-sql-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let schema: Awaited<ReturnType<typeof pgSchema>>;
  let client: pg.Client;

  before(async () => {
    schema = await pgSchema('ferry_edge');
    client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`create schema "${schema.schema}"`);
    for (const c of CASES) {
      const r = await runCli(['register', join(ROOT, c.model), '--name', c.name, ...(c.register ?? [])], env);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await client?.end();
    await schema?.cleanup();
    tmp.cleanup();
  });

  for (const c of CASES) {
    it(`${c.name}: the query scores the rows in PostgreSQL and in DuckDB as the server does`, async () => {
      const input = c.pmml ? withIds(join(ROOT, c.input), join(tmp.dir, `${c.name}.csv`)) : join(ROOT, c.input);
      const served = join(tmp.dir, `${c.name}.jsonl`);
      const pred = await runCli(['predict', c.name, '--input', input, '--key', 'id', '--output', served], env);
      assert.equal(pred.code, 0, pred.stderr);
      const want = readFileSync(served, 'utf8').trim().split('\n').map((l) => flatten(JSON.parse(l) as Record<string, unknown>));
      const { header, rows } = readCsv(input);
      const columns = header.map((h) => `"${h}" double precision`).join(', ');
      const values = rows.map((r) => `(${r.map((v) => (v === null ? 'NULL' : String(v))).join(', ')})`).join(',\n');

      // PostgreSQL, in a schema of the test's own.
      const table = `${schema.schema}.${c.name}`;
      await client.query(`create table "${schema.schema}"."${c.name}" (${columns})`);
      await client.query(`insert into "${schema.schema}"."${c.name}" values ${values}`);
      const pgFile = join(tmp.dir, `${c.name}.pg.sql`);
      const exp = await runCli(['export', c.name, '--target', 'sql', '--dialect', 'postgresql', '--table', table, '--key', 'id', '--out', pgFile, '--sample', input, '--json'], env);
      assert.equal(exp.code, 0, exp.stderr);
      const report = JSON.parse(exp.stdout) as { parity: { ok: boolean } };
      assert.equal(report.parity.ok, true, 'the export checked its query (in DuckDB) before finishing');
      const pgRows = (await client.query(readFileSync(pgFile, 'utf8'))).rows as Record<string, unknown>[];
      assertSame(pgRows, want, `${c.name} postgresql`);

      // DuckDB, in memory.
      const duckFile = join(tmp.dir, `${c.name}.duck.sql`);
      const exp2 = await runCli(['export', c.name, '--target', 'sql', '--dialect', 'duckdb', '--table', 'scored_rows', '--key', 'id', '--out', duckFile, '--sample', input], env);
      assert.equal(exp2.code, 0, exp2.stderr);
      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      try {
        await conn.run(`create table scored_rows (${columns.replaceAll('double precision', 'DOUBLE')})`);
        await conn.run(`insert into scored_rows values ${values}`);
        const duckRows = (await conn.runAndReadAll(readFileSync(duckFile, 'utf8'))).getRowObjectsJS() as Record<string, unknown>[];
        assertSame(duckRows, want, `${c.name} duckdb`);
      } finally {
        conn.closeSync();
        db.closeSync();
      }
    });
  }

  it('refuses what it cannot write, saying why', async () => {
    for (const [name, model, input, why] of [
      ['l_categorical', 'fixtures/lightgbm/multiclass_categorical/model.txt', 'fixtures/lightgbm/multiclass_categorical/input.csv', /categorical splits/],
      ['p_transforms', 'fixtures/pmml/cases/hand-transforms/model.pmml', 'fixtures/pmml/cases/hand-transforms/input.csv', /derives fields \(LocalTransformations or a TransformationDictionary\)/],
      ['p_grm', 'fixtures/pmml/cases/sklearn-grm-logit/model.pmml', 'fixtures/pmml/cases/sklearn-grm-logit/input.csv', /<GeneralRegressionModel> models are not written in SQL/],
      ['p_chain', 'fixtures/pmml/cases/hand-chain-segmentid/model.pmml', 'fixtures/pmml/cases/hand-chain-segmentid/input.csv', /MiningSchema treats field "b"/],
    ] as const) {
      assert.equal((await runCli(['register', join(ROOT, model), '--name', name], env)).code, 0);
      const out = join(tmp.dir, `${name}.sql`);
      const sample = name.startsWith('p_') ? withIds(join(ROOT, input), join(tmp.dir, `${name}.csv`)) : join(ROOT, input);
      const r = await runCli(['export', name, '--target', 'sql', '--dialect', 'duckdb', '--table', 't', '--out', out, '--sample', sample, '--key', 'id'], env);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /FERRY_E_EXPORT_UNSUPPORTED/);
      assert.match(r.stderr, why);
    }
  });

  it('--target equation writes a linear model\'s formula, which reproduces the server\'s predictions', async () => {
    const out = join(tmp.dir, 'linear.txt');
    const r = await runCli(['export', 'x_linear', '--target', 'equation', '--out', out], env);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('margin = '))!;
    // margin = b + w × col - w × col …: evaluate it on the fixture rows.
    const [bias, ...terms] = line.slice('margin = '.length).split(/ (?=[+-] )/);
    const coef = terms.map((t) => { const m = /^([+-]) ([\d.e-]+) × (\w+)$/.exec(t)!; return { w: (m[1] === '-' ? -1 : 1) * Number(m[2]), col: m[3]! }; });
    assert.match(text, /prediction = margin/);
    const { header, rows } = readCsv(join(ROOT, 'fixtures/xgboost/diabetes_linear/input.csv'));
    const served = join(tmp.dir, 'x_linear.jsonl');
    const want = readFileSync(served, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prediction: number });
    rows.forEach((row, i) => {
      const value = coef.reduce((acc, { w, col }) => acc + w * (row[header.indexOf(col)] ?? 0), Number(bias));
      assert.ok(Math.abs(value - want[i]!.prediction) < 1e-3, `row ${i + 1}: ${value} vs ${want[i]!.prediction}`);
    });
    const trees = await runCli(['export', 'x_reg', '--target', 'equation', '--out', join(tmp.dir, 'trees.txt')], env);
    assert.equal(trees.code, 4);
    assert.match(trees.stderr, /FERRY_E_EXPORT_UNSUPPORTED.*linear models/);
  });

  it('--dialect is required and checked', async () => {
    const r = await runCli(['export', 'x_reg', '--target', 'sql', '--dialect', 'oracle', '--table', 't', '--out', join(tmp.dir, 'x.sql'), '--sample', join(ROOT, 'fixtures/xgboost/diabetes_reg/input.csv'), '--key', 'id'], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--dialect postgresql\|duckdb/);
  });
});
