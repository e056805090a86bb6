/**
 * Regression tests for the smaller findings of issue #18: names like Object.prototype keys,
 * ports in ferry.yaml ignored, a world-readable registry, and body checks before the model check.
 */
import assert from 'node:assert/strict';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { buildProgram } from '../src/cli/main.js';
import { parseServeConfig } from '../src/serving/config.js';
import { PROTO_OPTIONS, PROTO_PATH } from '../src/serving/grpc/grpc-server.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { postJson } from './helpers/server.js';

const breast = fixture('breast_mlp');

describe('names that are Object.prototype keys', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }] });
  });
  after(() => srv.cleanup());

  it('a datatype named toString or constructor is a 400 and is counted in ferry_requests_total', async () => {
    const row = oneRowRequest(breast);
    for (const datatype of ['toString', 'constructor', '__proto__']) {
      const input = { ...row.inputs[0], datatype };
      const res = await postJson(`${srv.url}/v2/models/bc/infer`, { inputs: [input] });
      assert.equal(res.status, 400, `${datatype}: ${JSON.stringify(res.body)}`);
    }
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /ferry_requests_total\{model="bc",version="none",protocol="oip-rest",code="400"\} 3/);
  });

  it('protocol tensors stay strict: an unknown OIP input is still an error', async () => {
    const row = oneRowRequest(breast);
    const res = await postJson(`${srv.url}/v2/models/bc/infer`, { inputs: [...row.inputs, { ...row.inputs[0], name: 'extra' }] });
    assert.equal(res.status, 400);
    assert.equal((res.body as { code: string }).code, 'FERRY_E_INPUT_UNKNOWN');
  });

  it('an input named constructor is not "given twice"', async () => {
    const row = oneRowRequest(breast);
    const res = await postJson(`${srv.url}/v2/models/bc/infer`, { inputs: [{ ...row.inputs[0], name: 'constructor' }] });
    assert.equal(res.status, 400);
    assert.doesNotMatch(JSON.stringify(res.body), /given twice/);
    assert.match(JSON.stringify(res.body), /constructor/);
  });

  it('MLflow and KServe v1 requests refused before scoring are counted in ferry_requests_total too', async () => {
    const post = (path: string, body: string, type = 'application/json') => fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    const codes = [
      (await post('/invocations', '{not json')).status,
      (await post('/invocations', '{"dataframe_records": [{"constructor": 1, "__proto__": 2, "toString": 3}]}')).status,
      (await post('/invocations', 'a,b\n1,2', 'text/plain')).status,
      (await post('/models/nope/invocations', '{}')).status,
      (await post('/v1/models/bc:predict', '{not json')).status,
      (await post('/v1/models/bc:predict', '{"instances": {"constructor": [1]}}')).status,
      (await post('/v1/models/nope:predict', '{}')).status,
    ];
    assert.deepEqual(codes, [400, 400, 415, 404, 400, 400, 404]);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const count = (labels: string) => Number(new RegExp(`ferry_requests_total\\{${labels}\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.equal(count('model="bc",version="none",protocol="mlflow",code="400"'), 1, metrics);
    assert.equal(count('model="bc",version="1",protocol="mlflow",code="400"'), 1, 'prototype-named columns reach the pipeline and are refused there');
    assert.equal(count('model="bc",version="none",protocol="mlflow",code="415"'), 1);
    assert.equal(count('model="\\(not served\\)",version="none",protocol="mlflow",code="404"'), 1);
    assert.equal(count('model="bc",version="none",protocol="kserve-v1",code="400"'), 2);
    assert.equal(count('model="\\(not served\\)",version="none",protocol="kserve-v1",code="404"'), 1);
  });

  it('gRPC ModelInfer for an unknown model answers NOT_FOUND before looking at the inputs', async () => {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS)) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${srv.server.grpcPort ?? 0}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { ModelInfer: (req: object, cb: (err: grpc.ServiceError | null) => void) => void };
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => { client.ModelInfer({ model_name: 'nope', inputs: [] }, resolve); });
      assert.equal(err?.code, grpc.status.NOT_FOUND, err?.details);
    } finally {
      client.close();
    }
  });
});

describe('ports from ferry.yaml', () => {
  it('port and grpc_port in ferry.yaml count (the CLI gives no defaults that would override them)', async () => {
    const program = await buildProgram({ stdout: process.stdout, stderr: process.stderr, env: {} }, ['node', 'ferry', 'serve']);
    const serve = program.commands.find((c) => c.name() === 'serve');
    for (const flag of ['--port', '--grpc-port']) assert.equal(serve?.options.find((o) => o.long === flag)?.defaultValue, undefined, flag);
    const config = parseServeConfig({ port: 9999, grpc_port: 'off' }, {});
    assert.equal(config.port, 9999);
    assert.equal(config.grpcPort, null);
    assert.equal(parseServeConfig({}, {}).port, 8080);
  });
});

describe('file permissions', () => {
  it('the home is 0700, registry.db 0600 and artifacts readable by their owner only', async () => {
    const srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }] });
    try {
      const mode = (p: string) => statSync(p).mode & 0o777;
      assert.equal(mode(srv.home), 0o700);
      assert.equal(mode(join(srv.home, 'registry.db')), 0o600);
      const artifacts = join(srv.home, 'artifacts');
      for (const entry of readdirSync(artifacts, { recursive: true, encoding: 'utf8' })) {
        assert.equal(mode(join(artifacts, entry)) & 0o077, 0, `${entry} is readable by others`);
      }
    } finally {
      await srv.cleanup();
    }
  });
});
