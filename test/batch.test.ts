/**
 * Batch deployment through the real CLI against real files: every file format in and out,
 * reference predictions, the same answers as `ferry predict` and the server, rejects with
 * their source positions, resume by run id, progress lines.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { breastCsv, csvToParquet, filesIn, readRows, strip } from './helpers/batch.js';
import { tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture, inputColumnFlags } from './helpers/fixtures.js';
import { postJson, startServe } from './helpers/server.js';

const XGB = join(import.meta.dirname, '..', 'fixtures', 'xgboost', 'breast_hist');

describe('ferry batch run', () => {
  const tmp = tempDir('ferry-batch-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const at = (name: string) => join(tmp.dir, name);
  const run = (args: string[]) => runCli(['batch', 'run', ...args], env);
  const bc = fixture('breast_mlp');

  before(async () => {
    for (const f of [bc, fixture('iris_string'), fixture('wine_two_inputs')]) {
      const r = await runCli(['register', f.model, '--name', f.name, ...inputColumnFlags(f)], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await runCli(['register', join(XGB, 'model.json'), '--name', 'xgb'], env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => tmp.cleanup());

  for (const name of ['breast_mlp', 'iris_string', 'wine_two_inputs']) {
    it(`${name}: CSV → Parquet and JSONL match the reference predictions (arrays as list columns)`, async () => {
      const f = fixture(name);
      for (const out of [at(`${name}.parquet`), at(`${name}.jsonl`)]) {
        const r = await run([name, '-i', f.input, '-o', out, '-k', 'id', '--chunk-size', '7']);
        assert.equal(r.code, 0, r.stderr);
        const rows = await readRows([out]);
        assert.deepEqual(rows.map((x) => x.id), rows.map((_, i) => i), 'every row once, in input order');
        assertMatchesReference(f, rows);
        assert.ok(rows.every((x) => x.model === name && x.model_version === 1 && typeof x.run_id === 'string' && typeof x.scored_at === 'string'));
      }
    });
  }

  it('XGBoost: CSV → CSV expands arrays into columns and matches xgboost', async () => {
    const out = at('xgb.csv');
    const r = await run(['xgb', '-i', join(XGB, 'input.csv'), '-o', out, '-k', 'id', '--chunk-size', '6']);
    assert.equal(r.code, 0, r.stderr);
    const expected = JSON.parse(readFileSync(join(XGB, 'expected.json'), 'utf8')) as { label: number[]; probabilities: number[][] };
    const rows = await readRows([out]);
    assert.equal(rows.length, expected.label.length);
    rows.forEach((row, i) => {
      assert.equal(row.label, expected.label[i]);
      assert.ok(Math.abs((row.probabilities_1 as number) - expected.probabilities[i]![1]!) < 1e-6);
    });
  });

  it('batch output equals `ferry predict` and served predictions for the same rows (ONNX and XGBoost)', async () => {
    const cases = [{ model: 'breast_mlp', input: bc.input }, { model: 'xgb', input: join(XGB, 'input.csv') }];
    const server = await startServe(env, ['--no-scheduler']);
    try {
      for (const c of cases) {
        const out = at(`same-${c.model}.jsonl`);
        const r = await run([c.model, '-i', c.input, '-o', out, '-k', 'id', '--chunk-size', '9']);
        assert.equal(r.code, 0, r.stderr);
        const batch = (await readRows([out])).map(strip);
        const predicted = await runCli(['predict', c.model, '-i', c.input, '-k', 'id', '--json'], env);
        assert.equal(predicted.code, 0, predicted.stderr);
        const oneOff = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(batch, oneOff);
        const [header, ...lines] = readFileSync(c.input, 'utf8').trim().split('\n');
        const columns = header!.split(',').slice(1);
        const data = lines.map((l) => l.split(',').slice(1).map((v) => (v === '' ? null : Number(v))));
        const served = await postJson(`${server.url}/models/${c.model}/invocations`, { dataframe_split: { columns, data } });
        assert.equal(served.status, 200, JSON.stringify(served.body));
        assert.deepEqual((served.body as { predictions: Record<string, unknown>[] }).predictions, batch.map(({ id: _id, ...outputs }) => outputs));
      }
    } finally {
      await server.stop();
    }
  });

  it('reads folders, globs, Parquet and JSONL, and writes a folder of part files', async () => {
    const dir = at('in-folder');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.csv'), breastCsv(30, 0));
    writeFileSync(join(dir, 'b.csv'), breastCsv(25, 30));
    writeFileSync(join(dir, 'notes.txt'), 'not data');
    await csvToParquet(join(dir, 'b.csv'), at('b.parquet'));
    const lines = breastCsv(10, 100).trim().split('\n');
    const header = lines[0]!.split(',');
    writeFileSync(at('c.jsonl'), lines.slice(1).map((l) => JSON.stringify(Object.fromEntries(l.split(',').map((v, i) => [header[i]!, Number(v)])))).join('\n'));

    const parts = at('parts');
    let r = await run(['breast_mlp', '-i', dir, '-o', `${parts}/`, '-k', 'id', '--chunk-size', '10', '--run-id', 'folder']);
    assert.equal(r.code, 0, r.stderr);
    const files = filesIn(parts);
    assert.equal(files.length, 6, 'a.csv in 3 chunks, b.csv in 3 (a chunk never spans files)');
    assert.ok(files.every((f) => /part-folder-\d{6}\.parquet$/.test(f)));
    const fromFolder = await readRows(files);
    assert.deepEqual(fromFolder.map((x) => x.id), Array.from({ length: 55 }, (_, i) => i));

    r = await run(['breast_mlp', '-i', at('in-folder/*.csv'), '-o', at('glob.jsonl'), '-k', 'id']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readRows([at('glob.jsonl')])).map(strip), fromFolder.map(strip));

    r = await run(['breast_mlp', '-i', at('b.parquet'), '-o', at('pq.jsonl'), '-k', 'id']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readRows([at('pq.jsonl')])).map(strip), fromFolder.slice(30).map(strip));

    r = await run(['breast_mlp', '-i', at('c.jsonl'), '-o', `${at('jsonl-parts')}/`, '--output-format', 'jsonl', '-k', 'id', '--chunk-size', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(filesIn(at('jsonl-parts')).length, 3);
    assert.deepEqual((await readRows(filesIn(at('jsonl-parts')))).map((x) => x.id), Array.from({ length: 10 }, (_, i) => 100 + i));
  });

  it('bad rows go to the rejects output with code, reason and source position; the rest is scored', async () => {
    const lines = breastCsv(40).trim().split('\n');
    const cells = (i: number) => lines[i]!.split(',');
    const bad = [...lines];
    let c = cells(4); c[2] = 'abc'; bad[4] = c.join(',');
    c = cells(33); c[5] = ''; bad[33] = c.join(',');
    writeFileSync(at('bad.csv'), `${bad.join('\n')}\n`);
    const r = await run(['breast_mlp', '-i', at('bad.csv'), '-o', at('bad-out.parquet'), '-k', 'id', '--rejects', at('rejects.jsonl'), '--chunk-size', '8', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { rows: number; scored: number; rejected: number };
    assert.deepEqual([summary.rows, summary.scored, summary.rejected], [40, 38, 2]);
    const rejects = await readRows([at('rejects.jsonl')]);
    assert.deepEqual(rejects.map((x) => [x.source, x.source_row, x.id, x.code]), [
      [at('bad.csv'), '4', 3, 'FERRY_E_VALUE_TYPE'],
      [at('bad.csv'), '33', 32, 'FERRY_E_VALUE_MISSING'],
    ]);
    assert.match(String(rejects[0]!.reason), /^Row 4, column "mean_texture": expected a number/);
    assert.deepEqual((await readRows([at('bad-out.parquet')])).map((x) => x.id), Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 3 && i !== 32));

    const jsonl = `${readFileSync(at('c.jsonl'), 'utf8')}\n{oops\n[1,2]\n`;
    writeFileSync(at('bad.jsonl'), jsonl);
    const j = await run(['breast_mlp', '-i', at('bad.jsonl'), '-o', at('bad-jsonl.jsonl'), '-k', 'id', '--rejects', at('rejects2.csv')]);
    assert.equal(j.code, 0, j.stderr);
    const rj = await readRows([at('rejects2.csv')]);
    assert.deepEqual(rj.map((x) => [x.source_row, x.code]), [[11, 'FERRY_E_INPUT_FORMAT'], [12, 'FERRY_E_INPUT_FORMAT']]);
  });

  it('--max-reject-rate fails the run (exit 4) and the Parquet output never appears; without --rejects a bad row fails it', async () => {
    const r = await run(['breast_mlp', '-i', at('bad.csv'), '-o', at('strict.parquet'), '-k', 'id', '--rejects', at('strict-rejects.jsonl'), '--max-reject-rate', '0.01']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /FERRY_E_BATCH_REJECT_RATE.*2 of 40 row\(s\) \(5\.00%\)/);
    assert.equal(existsSync(at('strict.parquet')), false);
    const runs = JSON.parse((await runCli(['batch', 'runs', '--json'], env)).stdout) as { status: string; error: { code: string } | null }[];
    assert.equal(runs[0]!.status, 'failed');
    assert.equal(runs[0]!.error?.code, 'FERRY_E_BATCH_REJECT_RATE');

    const noRejects = await run(['breast_mlp', '-i', at('bad.csv'), '-o', at('none.jsonl'), '-k', 'id']);
    assert.equal(noRejects.code, 4);
    assert.match(noRejects.stderr, /bad\.csv row 4: FERRY_E_VALUE_TYPE/);
  });

  it('the same --run-id resumes (a finished run is not repeated); other settings under it are refused', async () => {
    const args = ['breast_mlp', '-i', bc.input, '-o', at('again.jsonl'), '-k', 'id', '--run-id', 'again'];
    assert.equal((await run(args)).code, 0);
    const second = await run(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /had already finished/);
    assert.equal((await readRows([at('again.jsonl')])).length, 50);
    const other = await run([...args.slice(0, -2), '--run-id', 'again', '--chunk-size', '5']);
    assert.equal(other.code, 6);
    assert.match(other.stderr, /FERRY_E_BATCH_RUN_CONFLICT.*chunkSize/);
    const resume = await runCli(['batch', 'resume', 'nope'], env);
    assert.equal(resume.code, 3);
  });

  it('progress: JSON lines when stderr is not a terminal, then a summary line; `batch runs` lists the run', async () => {
    writeFileSync(at('big.csv'), breastCsv(3000));
    const r = await run(['breast_mlp', '-i', at('big.csv'), '-o', at('big.parquet'), '-k', 'id', '--chunk-size', '500', '--progress-interval', '1', '--run-id', 'progress', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const progress = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; rows: number; total: number; rowsPerSecond: number; etaSeconds: number | null });
    assert.ok(progress.length >= 2);
    assert.ok(progress.every((p) => p.event === 'progress' && p.total === 3000 && typeof p.rowsPerSecond === 'number'));
    assert.deepEqual(progress.map((p) => p.rows), [...progress.map((p) => p.rows)].sort((a, b) => a - b));
    assert.equal(progress.at(-1)!.rows, 3000);
    const summary = JSON.parse(r.stdout) as { event: string; rows: number; scored: number; rejected: number; chunks: number };
    assert.deepEqual([summary.event, summary.rows, summary.scored, summary.rejected, summary.chunks], ['summary', 3000, 3000, 0, 6]);
    const table = await runCli(['batch', 'runs'], env);
    assert.match(table.stdout, /^progress\s+breast_mlp:1\s+succeeded\s+done\s+3000\s+3000\s+0/m);
  });
});
