/**
 * KServe v1 on a real `ferry serve`: model list and status, `:predict` with `instances` (row
 * lists, row objects) and `inputs` (columns, named tensors) giving the reference predictions,
 * and 4xx errors as `{"error"}`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { corruptArtifacts, tempDir } from './helpers/env.js';
import { assertMatchesReference, columnar, fixture, inputColumnFlags, records, table } from './helpers/fixtures.js';
import { postJson, startServes, type ServeProcess } from './helpers/server.js';

const bc = fixture('breast_mlp');
const wine = fixture('wine_two_inputs');
const diabetes = fixture('diabetes_regressor');







function assertError(r: { status: number; body: unknown }, status: number, message: RegExp, code?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const body = r.body as { error: string; code: string };
  assert.equal(typeof body.error, 'string', JSON.stringify(body));
  assert.match(body.error, message);
  if (code) assert.equal(body.code, code);
}

describe('KServe v1', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;
  /** A server whose only model cannot load (its artifact was truncated). */
  let broken: ServeProcess;
  const url = (path: string) => `${server.url}${path}`;
  const predictions = (r: { body: unknown }) => (r.body as { predictions: Record<string, unknown>[] }).predictions;

  before(async () => {
    for (const [f, name] of [[bc, 'bc'], [wine, 'wine'], [diabetes, 'diabetes']] as const) {
      const r = await runCli(['register', f.model, '--name', name, ...inputColumnFlags(f, true)], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const brokenEnv = { FERRY_HOME: join(tmp.dir, 'broken') };
    assert.equal((await runCli(['register', diabetes.model, '--name', 'diabetes'], brokenEnv)).code, 0);
    corruptArtifacts(brokenEnv.FERRY_HOME);
    [server, broken] = await startServes([[env, ['--grpc-port', 'off']], [brokenEnv, ['--grpc-port', 'off']]]) as [ServeProcess, ServeProcess];
  });
  after(async () => {
    await Promise.all([server?.stop(), broken?.stop()]);
    tmp.cleanup();
  });

  describe('models', () => {
    it('GET /v1/models lists the served models', async () => {
      const res = await fetch(url('/v1/models'));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { models: ['bc', 'diabetes', 'wine'] });
    });

    it('GET /v1/models/{m} gives {"name","ready"}; 404 {"error"} for a model not served', async () => {
      const res = await fetch(url('/v1/models/bc'));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { name: 'bc', ready: true });
      const missing = await fetch(url('/v1/models/nope'));
      assertError({ status: missing.status, body: await missing.json() }, 404, /"nope" is not served here/, 'FERRY_E_MODEL_NOT_SERVED');
    });

    it('GET /v1/models/{m} of a model that could not load: 503 {"name","ready":false}', async () => {
      const res = await fetch(`${broken.url}/v1/models/diabetes`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { name: 'diabetes', ready: false });
    });
  });

  describe(':predict gives the reference predictions', () => {
    it('instances as row lists (single-input model, several outputs → an object per row)', async () => {
      const r = await postJson(url('/v1/models/bc:predict'), { instances: table(bc).rows });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.headers.get('x-ferry-model-version'), '1');
      assertMatchesReference(bc, predictions(r));
    });

    it('instances as row objects, for a model with two inputs', async () => {
      const r = await postJson(url('/v1/models/wine:predict'), { instances: records(wine) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(wine, predictions(r));
    });

    it('inputs as columns, and as named tensors', async () => {
      let r = await postJson(url('/v1/models/wine:predict'), { inputs: columnar(wine) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(wine, predictions(r));
      const recs = records(wine);
      const numeric = recs.map((rec) => wine.meta.input_columns.numeric!.map((c) => rec[c]));
      r = await postJson(url('/v1/models/wine:predict'), { inputs: { numeric, bucket: recs.map((rec) => rec.bucket) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertMatchesReference(wine, predictions(r));
    });

    it('one output → one plain value per row; inputs as a list of rows; an encoded colon', async () => {
      for (const body of [{ instances: table(diabetes).rows }, { inputs: table(diabetes).rows }]) {
        const r = await postJson(url('/v1/models/diabetes%3Apredict'), body);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const values = (r.body as { predictions: unknown[] }).predictions;
        assert.ok(values.every((v) => typeof v === 'number'), JSON.stringify(values.slice(0, 3)));
        assertMatchesReference(diabetes, values.map((v) => ({ variable: v })));
      }
    });
  });

  describe('errors are {"error"} with a 4xx status', () => {
    const u = () => url('/v1/models/bc:predict');
    const rows = () => table(bc).rows.slice(0, 2);

    it('a body without, or with both, "instances" and "inputs"; malformed JSON; not an object', async () => {
      assertError(await postJson(u(), {}), 400, /needs "instances".*or "inputs"/, 'FERRY_E_REQUEST_INVALID');
      assertError(await postJson(u(), { instances: rows(), inputs: rows() }), 400, /both "instances" and "inputs"/);
      assertError(await postJson(u(), '{"instances": ['), 400, /not valid JSON/);
      assertError(await postJson(u(), '[[1, 2]]'), 400, /JSON object/);
      assertError(await postJson(u(), { instances: 'x' }), 400, /"instances" must be a list of rows/);
      assertError(await postJson(u(), { instances: [] }), 400, /no rows/, 'FERRY_E_INPUT_EMPTY');
      assertError(await postJson(u(), { instances: [rows()[0], { a: 1 }] }), 400, /mixes row objects with lists/);
      assertError(await postJson(u(), { inputs: 3 }), 400, /"inputs" must be an object of columns/);
    });

    it('a bad cell names the row and column; a wrong row width; a missing column', async () => {
      const recs = records(wine).slice(0, 3);
      recs[2]!.magnesium = 'lots';
      assertError(await postJson(url('/v1/models/wine:predict'), { instances: recs }), 400, /Row 3, column "magnesium": expected a number \(float32\) but got text\.$/, 'FERRY_E_VALUE_TYPE');
      assertError(await postJson(u(), { instances: [[1, 2, 3]] }), 400, /expects 30 value\(s\) per row/, 'FERRY_E_TENSOR_SHAPE');
      const { bucket: _drop, ...noBucket } = records(wine)[0]!;
      assertError(await postJson(url('/v1/models/wine:predict'), { instances: [noBucket] }), 400, /needs column\(s\) "bucket"/, 'FERRY_E_COLUMN_MISSING');
    });

    it('row lists for a model with several inputs', async () => {
      assertError(await postJson(url('/v1/models/wine:predict'), { instances: [[1, 2, 3]] }), 400, /"wine" has 2 inputs.*object/);
    });

    it('unknown model → 404; unknown verb or no verb → 404', async () => {
      assertError(await postJson(url('/v1/models/nope:predict'), { instances: rows() }), 404, /"nope" is not served here/, 'FERRY_E_MODEL_NOT_SERVED');
      assertError(await postJson(url('/v1/models/bc:transform'), { instances: rows() }), 404, /No endpoint POST \/v1\/models\/bc:transform/, 'FERRY_E_ROUTE_NOT_FOUND');
      assertError(await postJson(url('/v1/models/bc'), { instances: rows() }), 404, /No endpoint POST/, 'FERRY_E_ROUTE_NOT_FOUND');
    });
  });
});
