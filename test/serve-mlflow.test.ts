/**
 * The MLflow scoring protocol on a real `ferry serve`: the four JSON payloads and CSV give the
 * reference predictions, content types, payload errors in MLflow's `{"error_code","message"}`
 * shape, `/invocations` on one- and several-model servers, `/ping`, `/health`, `/version`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FERRY_VERSION } from '../src/core/version.js';
import { runCli } from './helpers/cli.js';
import { corruptArtifacts, tempDir } from './helpers/env.js';
import { assertMatchesReference, columnar, fixture, inputColumnFlags, records, table, type Fixture, type Value } from './helpers/fixtures.js';
import { postJson, startServes, type ServeProcess } from './helpers/server.js';

const bc = fixture('breast_mlp');
const wine = fixture('wine_two_inputs');
const iris = fixture('iris_string');
const diabetes = fixture('diabetes_regressor');





/**
 * The rows of each input of a fixture as named tensors per row: `[{input: [..]}]`. An input
 * mapped to one column of its own name (wine's `bucket`) is sent as that column's value: the
 * scoring core reads such a column one value per row (a cell `[3]` there is rejected as a list).
 */
function namedRows(f: Fixture): Record<string, Value | Value[]>[] {
  return records(f).map((rec) => Object.fromEntries(Object.entries(f.meta.input_columns).map(([input, cols]) => [input, cols.length === 1 && cols[0] === input ? rec[input] as Value : cols.map((c) => rec[c] as Value)])));
}



function post(url: string, body: string, contentType: string) {
  return postJson(url, body, { 'content-type': contentType });
}

type MlflowError = { error_code: string; message: string };

function assertMlflowError(r: { status: number; body: unknown }, status: number, message: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const body = r.body as MlflowError;
  assert.equal(body.error_code, status === 404 ? 'RESOURCE_DOES_NOT_EXIST' : 'BAD_REQUEST', JSON.stringify(body));
  assert.match(body.message, message);
}

describe('MLflow scoring protocol', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;
  let single: ServeProcess;
  /** A server whose only model cannot load (its artifact was truncated): never ready. */
  let broken: ServeProcess;
  const url = (path: string) => `${server.url}${path}`;

  before(async () => {
    for (const [f, name] of [[bc, 'bc'], [wine, 'wine'], [iris, 'iris']] as const) {
      const r = await runCli(['register', f.model, '--name', name, ...inputColumnFlags(f, true)], env);
      assert.equal(r.code, 0, r.stderr);
    }
    // diabetes: no saved mapping — its 10 columns fill the one input in order.
    assert.equal((await runCli(['register', diabetes.model, '--name', 'diabetes'], env)).code, 0);
    const config = join(tmp.dir, 'one.yaml');
    writeFileSync(config, 'models:\n  - name: bc\n');
    const brokenEnv = { FERRY_HOME: join(tmp.dir, 'broken') };
    assert.equal((await runCli(['register', diabetes.model, '--name', 'diabetes'], brokenEnv)).code, 0);
    corruptArtifacts(brokenEnv.FERRY_HOME);
    [server, single, broken] = await startServes([
      [env, ['--grpc-port', 'off']],
      [env, ['--grpc-port', 'off', '--config', config]],
      [brokenEnv, ['--grpc-port', 'off']],
    ]) as [ServeProcess, ServeProcess, ServeProcess];
  });
  after(async () => {
    await Promise.all([server?.stop(), single?.stop(), broken?.stop()]);
    tmp.cleanup();
  });

  describe('payloads give the reference predictions', () => {
    it('dataframe_split (several outputs → one record per row) with the version header', async () => {
      const { columns, rows } = table(bc);
      const r = await postJson(url('/models/bc/invocations'), { dataframe_split: { columns, data: rows, index: rows.map((_, i) => i) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.headers.get('x-ferry-model-version'), '1');
      assertMatchesReference(bc, (r.body as { predictions: Record<string, unknown>[] }).predictions);
    });

    it('dataframe_records, for a model with two inputs of different types', async () => {
      const r = await postJson(url('/models/wine/invocations'), { dataframe_records: records(wine) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(wine, (r.body as { predictions: Record<string, unknown>[] }).predictions);
    });

    it('instances: row lists of a single-input model, row objects, named tensors per row', async () => {
      let r = await postJson(url('/models/bc/invocations'), { instances: table(bc).rows });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(bc, (r.body as { predictions: Record<string, unknown>[] }).predictions);
      r = await postJson(url('/models/iris/invocations'), { instances: records(iris) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(iris, (r.body as { predictions: Record<string, unknown>[] }).predictions);
      r = await postJson(url('/models/wine/invocations'), { instances: namedRows(wine) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(wine, (r.body as { predictions: Record<string, unknown>[] }).predictions);
    });

    it('inputs: columns, named tensors, and a list of rows (single output → plain values)', async () => {
      let r = await postJson(url('/models/iris/invocations'), { inputs: columnar(iris) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(iris, (r.body as { predictions: Record<string, unknown>[] }).predictions);
      const rows = namedRows(wine);
      r = await postJson(url('/models/wine/invocations'), { inputs: { numeric: rows.map((x) => x.numeric), bucket: rows.map((x) => x.bucket) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(wine, (r.body as { predictions: Record<string, unknown>[] }).predictions);
      r = await postJson(url('/models/diabetes/invocations'), { inputs: table(diabetes).rows });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const values = (r.body as { predictions: unknown[] }).predictions;
      assert.ok(values.every((v) => typeof v === 'number'));
      assertMatchesReference(diabetes, values.map((v) => ({ variable: v })));
    });

    it('text/csv (header row + rows), with charset=utf-8', async () => {
      const csv = readFileSync(diabetes.input, 'utf8').split('\n').map((l) => l.split(',').slice(1).join(',')).join('\n');
      const r = await post(url('/models/diabetes/invocations'), csv, 'text/csv; charset=utf-8');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(diabetes, (r.body as { predictions: unknown[] }).predictions.map((v) => ({ variable: v })));
      const bcCsv = readFileSync(bc.input, 'utf8').split('\n').map((l) => l.split(',').slice(1).join(',')).join('\n');
      const r2 = await post(url('/models/bc/invocations'), bcCsv, 'text/csv');
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      assertMatchesReference(bc, (r2.body as { predictions: Record<string, unknown>[] }).predictions);
    });

    it('"params" are accepted (and ignored); application/json; charset=UTF-8 is accepted', async () => {
      const { columns, rows } = table(bc);
      const r = await post(url('/models/bc/invocations'), JSON.stringify({ dataframe_split: { columns, data: rows }, params: { threshold: 0.3, k: 'x' } }), 'application/json; charset=UTF-8');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(bc, (r.body as { predictions: Record<string, unknown>[] }).predictions);
    });
  });

  describe('errors in the MLflow shape', () => {
    const one = () => ({ columns: table(bc).columns, data: table(bc).rows.slice(0, 2) });

    it('415 for text/plain, a missing content type and parameters other than charset=utf-8', async () => {
      const body = JSON.stringify({ dataframe_split: one() });
      assertMlflowError(await post(url('/models/bc/invocations'), body, 'text/plain'), 415, /Content type "text\/plain" is not accepted.*application\/json.*text\/csv/);
      assertMlflowError(await post(url('/models/bc/invocations'), body, 'application/json; format=pandas-split'), 415, /format=pandas-split/);
      const res = await fetch(url('/models/bc/invocations'), { method: 'POST', body: Buffer.from(body) });
      assert.equal(res.status, 415);
      assert.equal(((await res.json()) as MlflowError).error_code, 'BAD_REQUEST');
    });

    it('400 for no payload key, two payload keys, an unknown key, bad params, malformed JSON, a non-object', async () => {
      const u = url('/models/bc/invocations');
      assertMlflowError(await postJson(u, {}), 400, /exactly one of "dataframe_split", "dataframe_records", "instances", "inputs".*it has none/);
      assertMlflowError(await postJson(u, { params: { a: 1 } }), 400, /exactly one of/);
      assertMlflowError(await postJson(u, { dataframe_split: one(), instances: one().data }), 400, /exactly one of.*it has "dataframe_split", "instances"/);
      assertMlflowError(await postJson(u, { instances: one().data, extra: 1 }), 400, /"instances", "extra"/);
      assertMlflowError(await postJson(u, { instances: one().data, params: [1] }), 400, /"params" must be an object/);
      assertMlflowError(await postJson(u, '{"instances": [[1, 2'), 400, /not valid JSON/);
      assertMlflowError(await postJson(u, '[1, 2]'), 400, /JSON object/);
      assertMlflowError(await postJson(u, ''), 400, /body is empty/);
      assertMlflowError(await postJson(u, { instances: [] }), 400, /no rows/);
    });

    it('400 for a malformed dataframe_split and dataframe_records', async () => {
      const u = url('/models/bc/invocations');
      assertMlflowError(await postJson(u, { dataframe_split: { columns: ['a', 'b'], data: [[1, 2], [3]] } }), 400, /row 2 of "dataframe_split.data" must be a list of 2 value/);
      assertMlflowError(await postJson(u, { dataframe_split: { columns: ['a', 'a'], data: [[1, 2]] } }), 400, /column "a" twice/);
      assertMlflowError(await postJson(u, { dataframe_split: [[1, 2]] }), 400, /"dataframe_split" must be an object/);
      assertMlflowError(await postJson(u, { dataframe_records: { a: 1 } }), 400, /"dataframe_records" must be a list/);
      assertMlflowError(await postJson(u, { dataframe_records: [{ a: 1 }, 2] }), 400, /element 2/);
    });

    it('400 for a missing column, naming it', async () => {
      const recs = records(bc).slice(0, 3).map(({ mean_area: _drop, ...rest }) => rest);
      const r = await postJson(url('/models/bc/invocations'), { dataframe_records: recs });
      assertMlflowError(r, 400, /needs column\(s\) "mean_area"/);
      assert.equal((r.body as { ferry_code: string }).ferry_code, 'FERRY_E_COLUMN_MISSING');
    });

    it('400 for a non-numeric cell, naming the row and the column (the whole request fails)', async () => {
      const { columns, rows } = table(bc);
      const data = rows.slice(0, 3).map((r) => [...r]);
      data[1]![columns.indexOf('mean_texture')] = 'abc';
      const r = await postJson(url('/models/bc/invocations'), { dataframe_split: { columns, data } });
      assertMlflowError(r, 400, /Row 2, column "mean_texture": expected a number \(float32\) but got text\.$/);
      assert.doesNotMatch(JSON.stringify(r.body), /abc/, 'the data is not echoed back');
      const csv = `${columns.join(',')}\n${rows[0]!.join(',')}\n${rows[1]!.map((v, j) => (j === 3 ? 'n/a' : v)).join(',')}\n`;
      assertMlflowError(await post(url('/models/bc/invocations'), csv, 'text/csv'), 400, /Row 2, column "mean_area": expected a number \(float32\) but got text\.$/);
    });

    it('400 for row lists sent to a model with several inputs, and for a wrong row width', async () => {
      assertMlflowError(await postJson(url('/models/wine/invocations'), { instances: [[1, 2, 3]] }), 400, /"wine" has 2 inputs \("numeric", "bucket"\).*object/);
      assertMlflowError(await postJson(url('/models/bc/invocations'), { instances: [[1, 2, 3]] }), 400, /expects 30 value\(s\) per row.*3 in row 1/);
    });

    it('404 for a model that is not served', async () => {
      assertMlflowError(await postJson(url('/models/nope/invocations'), { instances: [[1]] }), 404, /"nope" is not served here/);
    });

    it('other protocols keep their own error shape', async () => {
      const r = await postJson(url('/v2/models/nope/infer'), { inputs: [] });
      assert.equal(r.status, 404);
      assert.equal(typeof (r.body as { error: string }).error, 'string');
    });
  });

  describe('/invocations', () => {
    it('on a server with several models: 400 pointing to /models/<model>/invocations', async () => {
      assertMlflowError(await postJson(url('/invocations'), { instances: table(bc).rows }), 400, /exactly one model.*"bc", "diabetes", "iris", "wine".*\/models\/<model>\/invocations/);
    });

    it('on a server with one model: scores with it', async () => {
      const { columns, rows } = table(bc);
      const r = await postJson(`${single.url}/invocations`, { dataframe_split: { columns, data: rows } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(bc, (r.body as { predictions: Record<string, unknown>[] }).predictions);
      assertMlflowError(await postJson(`${single.url}/models/wine/invocations`, { instances: namedRows(wine) }), 404, /not served here/);
    });
  });

  describe('/ping, /health, /version', () => {
    it('/ping and /health answer 200 "\\n" when the models are loaded', async () => {
      for (const path of ['/ping', '/health']) {
        const res = await fetch(url(path));
        assert.equal(res.status, 200);
        assert.equal(await res.text(), '\n');
      }
    });

    it('/ping and /health answer 503 while a model is not loaded (MLflow: 404)', async () => {
      for (const path of ['/ping', '/health']) {
        const res = await fetch(`${broken.url}${path}`);
        assert.equal(res.status, 503);
        assert.equal(await res.text(), '\n');
      }
    });

    it('/version is the server version as text', async () => {
      const res = await fetch(url('/version'));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await res.text(), FERRY_VERSION);
    });
  });
});
