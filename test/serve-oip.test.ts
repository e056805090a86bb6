/**
 * Open Inference Protocol v2 over REST against a real `ferry serve` process: health,
 * metadata, JSON and binary inference matching the reference predictions, the repository
 * extension, errors, metrics and OpenAPI.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture, type Fixture } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const wine = fixture('wine_two_inputs');
const iris = fixture('iris_string');
const XGB_NAN = join(ROOT, 'fixtures/xgboost/breast_nan');

/** Rows of a fixture's input.csv as numbers/strings by column. */
function csvRows(f: Fixture): Record<string, string>[] {
  const [head, ...lines] = readFileSync(f.input, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

/** OIP request tensors for a fixture, built from meta.json's input columns. */
function oipInputs(f: Fixture): { name: string; shape: number[]; datatype: string; data: (number | string)[] }[] {
  const rows = csvRows(f);
  return f.meta.inputs.map((spec) => {
    const cols = f.meta.input_columns[spec.name]!;
    const data = rows.flatMap((r) => cols.map((c) => (spec.dtype === 'string' ? r[c]! : Number(r[c]))));
    const shape = [rows.length, ...spec.shape.slice(1).map((d) => (d < 0 ? cols.length : d))];
    const datatype = { float32: 'FP32', int64: 'INT64', string: 'BYTES' }[spec.dtype]!;
    return { name: spec.name, shape, datatype, data };
  });
}

/** OIP response outputs → per-row records, for assertMatchesReference. */
function rowsOf(outputs: { name: string; shape: number[]; data: unknown[] }[], n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, r) => Object.fromEntries(outputs.map((o) => {
    const size = o.shape.slice(1).reduce((a, b) => a * b, 1);
    const slice = o.data.slice(r * size, (r + 1) * size);
    return [o.name, size === 1 ? slice[0] : slice];
  })));
}

describe('Open Inference Protocol v2 (REST)', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;

  before(async () => {
    const cols = (f: Fixture) => Object.entries(f.meta.input_columns).flatMap(([i, c]) => ['--input-columns', `${i}=${c.join(',')}`]);
    for (const [f, name, extra] of [[breast, 'bc', ['--alias', 'champion']], [wine, 'wine', cols(wine)], [iris, 'iris', cols(iris)]] as const) {
      const r = await runCli(['register', f.model, '--name', name, ...extra], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const x = await runCli(['register', join(XGB_NAN, 'model.json'), '--name', 'xgb-nan'], env);
    assert.equal(x.code, 0, x.stderr);
    server = await startServe(env);
  });
  after(async () => {
    const code = await server.stop();
    tmp.cleanup();
    assert.equal(code, 0, 'SIGTERM drains and exits 0');
  });

  it('health, server metadata with extensions, model metadata', async () => {
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
    const meta = await (await fetch(`${server.url}/v2`)).json() as { name: string; extensions: string[] };
    assert.equal(meta.name, 'ferry');
    assert.ok(meta.extensions.includes('binary_tensor_data') && meta.extensions.includes('model_repository'));
    const m = await (await fetch(`${server.url}/v2/models/wine`)).json() as { name: string; inputs: unknown[]; outputs: unknown[]; versions: string[] };
    assert.deepEqual(m.inputs, [{ name: 'numeric', datatype: 'FP32', shape: [-1, 12] }, { name: 'bucket', datatype: 'INT64', shape: [-1, 1] }]);
    assert.deepEqual(m.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }, { name: 'label', datatype: 'INT64', shape: [-1] }]);
    assert.deepEqual(m.versions, ['1']);
    assert.equal((await fetch(`${server.url}/v2/models/bc/ready`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/bc/versions/champion/ready`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/nope/ready`)).status, 404);
  });

  for (const [f, name] of [[breast, 'bc'], [wine, 'wine'], [iris, 'iris']] as const) {
    it(`${name}: JSON inference matches the reference`, async () => {
      const res = await postJson(`${server.url}/v2/models/${name}/infer`, { id: 'req-1', inputs: oipInputs(f) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const body = res.body as { id: string; model_name: string; model_version: string; outputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] };
      assert.equal(body.id, 'req-1');
      assert.equal(body.model_name, name);
      assert.equal(res.headers.get('x-ferry-model-version'), '1');
      assertMatchesReference(f, rowsOf(body.outputs, csvRows(f).length));
    });
  }

  it('JSON null in an FP32 tensor is a missing value: an XGBoost model takes its learned default directions', async () => {
    const [head, ...lines] = readFileSync(join(XGB_NAN, 'input.csv'), 'utf8').trim().split('\n');
    const width = head!.split(',').length - 1;
    const data = lines.flatMap((l) => l.split(',').slice(1).map((v) => (v === '' ? null : Number(v))));
    assert.ok(data.includes(null));
    const res = await postJson(`${server.url}/v2/models/xgb-nan/infer`, { inputs: [{ name: 'input', shape: [lines.length, width], datatype: 'FP32', data }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const out = (res.body as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'probabilities')!;
    const expected = (JSON.parse(readFileSync(join(XGB_NAN, 'expected.json'), 'utf8')) as { probabilities: number[][] }).probabilities;
    expected.forEach((p, r) => assert.ok(Math.abs(out.data[r * 2 + 1]! - p[1]!) <= 1e-6, `row ${r}: ${out.data[r * 2 + 1]} vs ${p[1]}`));
  });

  it('JSON null for a model that does not accept missing values is refused, not scored as NaN', async () => {
    const [input] = oipInputs(breast);
    const data: (number | string | null)[] = [...input!.data.slice(0, 60)];
    data[37] = null; // row 2, the 8th column
    const res = await postJson(`${server.url}/v2/models/bc/infer`, { inputs: [{ name: input!.name, shape: [2, 30], datatype: 'FP32', data }] });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const body = res.body as { error: string; code?: string };
    assert.match(JSON.stringify(body), /FERRY_E_VALUE_MISSING/);
    assert.match(body.error, /Row 2, column "[^"]+"/);
  });

  it('nested data, requested outputs, version by number and by alias', async () => {
    const [input] = oipInputs(breast);
    const nested = Array.from({ length: input!.shape[0]! }, (_, r) => input!.data.slice(r * 30, (r + 1) * 30));
    for (const path of ['/v2/models/bc/infer', '/v2/models/bc/versions/1/infer', '/v2/models/bc/versions/champion/infer']) {
      const res = await postJson(`${server.url}${path}`, { inputs: [{ ...input, data: nested }], outputs: [{ name: 'label' }] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const outputs = (res.body as { outputs: { name: string; data: number[] }[] }).outputs;
      assert.deepEqual(outputs.map((o) => o.name), ['label']);
      assert.deepEqual(outputs[0]!.data, breast.expected.outputs.label);
    }
  });

  it('binary tensor data extension: binary inputs and binary outputs', async () => {
    const [input] = oipInputs(breast);
    const raw = Buffer.from(new Float32Array(input!.data as number[]).buffer);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'input', shape: input!.shape, datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label', parameters: { binary_data: false } }],
    }));
    const res = await fetch(`${server.url}/v2/models/bc/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, raw]),
    });
    assert.equal(res.status, 200);
    const buf = Buffer.from(await res.arrayBuffer());
    const jsonLen = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(buf.subarray(0, jsonLen).toString()) as { outputs: { name: string; shape: number[]; data?: number[]; parameters?: { binary_data_size: number } }[] };
    const probs = head.outputs.find((o) => o.name === 'probabilities')!;
    const label = head.outputs.find((o) => o.name === 'label')!;
    assert.equal(probs.parameters?.binary_data_size, probs.shape[0]! * 2 * 4);
    assert.equal(buf.length, jsonLen + probs.parameters.binary_data_size);
    const p = new Float32Array(buf.buffer.slice(buf.byteOffset + jsonLen, buf.byteOffset + buf.length));
    const rows = Array.from({ length: probs.shape[0]! }, (_, r) => ({ probabilities: [p[r * 2]!, p[r * 2 + 1]!], label: label.data![r] }));
    assertMatchesReference(breast, rows);
  });

  it('binary BYTES inputs (4-byte length prefixes) and binary_data_output', async () => {
    const inputs = oipInputs(iris);
    const sepal = inputs.find((i) => i.name === 'sepal')!;
    const petal = inputs.find((i) => i.name === 'petal_size')!;
    const petalBytes = Buffer.concat((petal.data as string[]).map((s) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    }));
    const header = Buffer.from(JSON.stringify({
      inputs: [sepal, { name: 'petal_size', shape: petal.shape, datatype: 'BYTES', parameters: { binary_data_size: petalBytes.length } }],
      parameters: { binary_data_output: true },
    }));
    const res = await fetch(`${server.url}/v2/models/iris/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, petalBytes]) });
    assert.equal(res.status, 200);
    const buf = Buffer.from(await res.arrayBuffer());
    const jsonLen = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(buf.subarray(0, jsonLen).toString()) as { outputs: { name: string; parameters: { binary_data_size: number } }[] };
    let off = jsonLen;
    const species: string[] = [];
    for (const o of head.outputs) {
      if (o.name === 'species') {
        const end = off + o.parameters.binary_data_size;
        for (let p = off; p < end;) { const n = buf.readUInt32LE(p); species.push(buf.subarray(p + 4, p + 4 + n).toString()); p += 4 + n; }
      }
      off += o.parameters.binary_data_size;
    }
    assert.equal(off, buf.length);
    assert.deepEqual(species, iris.expected.outputs.species);
  });

  it('bad requests get 4xx with {"error"} naming the problem, and the server stays up', async () => {
    const cases: [unknown, number, RegExp][] = [
      ['{not json', 400, /not valid JSON/],
      [{}, 400, /"inputs"/],
      [{ inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }, 400, /Input "input" expects shape \[N, 30\] but got \[1, 3\]/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: new Array(30).fill(1) }] }, 400, /must be float32 but the request sent float64/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: [1, 2] }] }, 400, /has 2 element\(s\) but shape \[1, 30\] needs 30/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: new Array(30).fill('x') }] }, 400, /element 0 is a string, not FP32/],
      [{ inputs: [{ name: 'other', shape: [1, 30], datatype: 'FP32', data: new Array(30).fill(1) }] }, 400, /no input "other"/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP99', data: [] }] }, 400, /datatype "FP99"/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: new Array(30).fill(1) }], outputs: [{ name: 'nope' }] }, 400, /no output "nope"/],
    ];
    for (const [body, status, message] of cases) {
      const res = await postJson(`${server.url}/v2/models/bc/infer`, body);
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 80));
      assert.match((res.body as { error: string }).error, message);
    }
    const missing = await postJson(`${server.url}/v2/models/nope/infer`, { inputs: [] });
    assert.equal(missing.status, 404);
    const route = await fetch(`${server.url}/v3/whatever`);
    assert.equal(route.status, 404);
    assert.match(((await route.json()) as { error: string }).error, /No endpoint GET \/v3\/whatever/);
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
  });

  it('the raw infer route (JSON content types) answers exactly as the Fastify route (any other type) does', async () => {
    const row = (oipInputs(breast)[0]!.data as number[]).slice(0, 30);
    const one = { name: 'input', shape: [1, 30], datatype: 'FP32', data: row };
    const cases: [string, string][] = [
      ['/v2/models/bc/infer', JSON.stringify({ id: 'same', inputs: [one] })],
      ['/v2/models/bc/versions/champion/infer', JSON.stringify({ id: 'same', inputs: [one], outputs: [{ name: 'label' }], parameters: { confidence: true } })],
      ['/v2/models/bc/infer', JSON.stringify({ id: 'same', inputs: [one], parameters: { binary_data_output: true } })],
      ['/v2/models/bc/versions/9/infer', JSON.stringify({ inputs: [one] })],
      ['/v2/models/nope/infer', JSON.stringify({ inputs: [one] })],
      ['/v2/models/bc/infer', '{not json'],
      ['/v2/models/bc/infer', ''],
      ['/v2/models/bc/infer', JSON.stringify({ inputs: [{ ...one, shape: [1, 3] }] })],
    ];
    const answer = async (path: string, body: string, type: string) => {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': type, 'x-request-id': 'rid-1' }, body });
      const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== 'date'));
      return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()).toString('latin1') };
    };
    for (const [path, body] of cases) {
      const raw = await answer(path, body, 'application/json');
      assert.deepEqual(await answer(path, body, 'Application/JSON; charset=UTF-8'), raw, `${path} ${body.slice(0, 60)}`);
      assert.deepEqual(await answer(path, body, 'text/plain'), raw, `${path} ${body.slice(0, 60)}`);
    }
  });

  it('repository extension: index, unload, load', async () => {
    const index = await postJson(`${server.url}/v2/repository/index`, {});
    const rows = index.body as { name: string; version: string; state: string }[];
    assert.deepEqual(rows.map((r) => `${r.name}:${r.version}:${r.state}`).sort(), ['bc:1:READY', 'iris:1:READY', 'wine:1:READY', 'xgb-nan:1:READY']);
    assert.equal((await postJson(`${server.url}/v2/repository/models/wine/unload`, {})).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/wine/ready`)).status, 400);
    const refused = await postJson(`${server.url}/v2/models/wine/infer`, { inputs: oipInputs(wine) });
    assert.equal(refused.status, 503);
    const readyOnly = (await postJson(`${server.url}/v2/repository/index`, { ready: true })).body as { name: string }[];
    assert.ok(!readyOnly.some((r) => r.name === 'wine'));
    assert.equal((await postJson(`${server.url}/v2/repository/models/wine/load`, {})).status, 200);
    assert.equal((await postJson(`${server.url}/v2/models/wine/infer`, { inputs: oipInputs(wine) })).status, 200);
  });

  it('metrics count requests by model, version, protocol and code; OpenAPI lists the routes', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /ferry_requests_total\{model="bc",version="1",protocol="oip-rest",code="200"\} \d+/);
    assert.match(text, /ferry_requests_total\{model="bc",version="1",protocol="oip-rest",code="400"\} \d+/);
    assert.match(text, /ferry_request_duration_seconds_bucket/);
    assert.match(text, /ferry_models_loaded 4/);
    const doc = await (await fetch(`${server.url}/openapi.json`)).json() as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.0.3');
    for (const p of ['/v2/models/{model}/infer', '/v2/models/{model}/versions/{version}/infer', '/invocations', '/v1/models/{model}:predict', '/v2/repository/index']) assert.ok(doc.paths[p], p);
  });

  it('the request id is returned, or taken from x-request-id', async () => {
    const res = await fetch(`${server.url}/v2/health/live`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(res.headers.get('x-request-id'), 'abc-123');
    const fresh = await fetch(`${server.url}/v2/health/live`);
    assert.match(fresh.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
