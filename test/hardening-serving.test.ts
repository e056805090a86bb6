/**
 * Regression tests for what one request could do to a server's serving state (issue #18):
 * metadata requests that took a replica out of rotation, any version (archived ones too)
 * servable and kept loaded forever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_OPTIONS, PROTO_PATH } from '../src/serving/grpc/grpc-server.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { postJson } from './helpers/server.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);

type Client = grpc.Client & Record<string, (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

function grpcClient(port: number): Client {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS)) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  return new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
}

function call<T>(client: Client, method: string, req: object): Promise<T> {
  return new Promise((resolve, reject) => { client[method]?.call(client, req, (err, res) => (err ? reject(err) : resolve(res as T))); });
}

const onDemandRows = (srv: InProcess) => srv.server.context.deployments.index().filter((r) => r.name === 'bc');

describe('metadata requests and readiness', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }, { path: breast.model, name: 'bc' }] });
  });
  after(() => srv.cleanup());

  it('a metadata request for a version never takes the server out of rotation', async () => {
    const ready = async () => (await fetch(`${srv.url}/v2/health/ready`)).status;
    assert.equal(await ready(), 200);
    for (const version of ['1', '2']) {
      const res = await fetch(`${srv.url}/v2/models/bc/versions/${version}`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { name: string }).name, 'bc');
      assert.equal(await ready(), 200, `after GET /v2/models/bc/versions/${version}`);
    }
    const client = grpcClient(srv.server.grpcPort ?? 0);
    try {
      await call(client, 'ModelMetadata', { name: 'bc', version: '1' });
      const { ready: serverReady } = await call<{ ready: boolean }>(client, 'ServerReady', {});
      assert.equal(serverReady, true, 'gRPC ServerReady after ModelMetadata with a version');
    } finally {
      client.close();
    }
    assert.deepEqual(onDemandRows(srv).map((r) => r.version), ['2'], 'metadata created no serving state');
    // Inference on an explicit version loads it on demand; readiness is still about the configured pointers.
    assert.equal((await postJson(`${srv.url}/v2/models/bc/versions/1/infer`, body)).status, 200);
    assert.equal(await ready(), 200);
  });
});

describe('which versions a request may name', () => {
  let srv: InProcess;
  before(async () => {
    const v = { path: breast.model, name: 'bc' };
    const free = { path: breast.model, name: 'free' };
    srv = await startInProcess({
      register: [v, v, v, v, v, free, free],
      serve: { max_on_demand_versions: 2, models: [{ name: 'bc' }, { name: 'free' }] },
    });
    await srv.app.registry.archive('free:1');
  });
  after(() => srv.cleanup());

  it('archived versions and versions outside `versions:` are refused, listed ones served', async () => {
    const archived = await postJson(`${srv.url}/v2/models/free/versions/1/infer`, body);
    assert.equal(archived.status, 404);
    assert.match((archived.body as { error: string }).error, /archived/);
    assert.equal((await fetch(`${srv.url}/v2/models/free/versions/1`)).status, 404, 'metadata of an archived version');
    assert.equal((await postJson(`${srv.url}/v2/models/free/versions/2/infer`, body)).status, 200);
  });

  it('explicitly requested versions are evicted least recently used past max_on_demand_versions', async () => {
    for (const version of [1, 2, 3, 1, 4]) {
      const res = await postJson(`${srv.url}/v2/models/bc/versions/${version}/infer`, body);
      assert.equal(res.status, 200, `version ${version}: ${JSON.stringify(res.body)}`);
      assert.equal(res.headers.get('x-ferry-model-version'), String(version));
    }
    // latest (5) is configured; of 1, 2, 3, 4 only the two most recently used stay (1 and 4).
    assert.deepEqual(onDemandRows(srv).map((r) => r.version).sort(), ['1', '4', '5']);
  });
});

describe('versions pinned in the config', () => {
  let srv: InProcess;
  before(async () => {
    const v = { path: breast.model, name: 'pinned' };
    srv = await startInProcess({ register: [v, v, v], serve: { models: [{ name: 'pinned', versions: ['latest', 1] }] } });
  });
  after(() => srv.cleanup());

  it('a version not listed in `versions:` (nor the target of a listed pointer) is not served', async () => {
    const res = await postJson(`${srv.url}/v2/models/pinned/versions/2/infer`, body);
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match((res.body as { error: string }).error, /not served/);
    assert.equal((await postJson(`${srv.url}/v2/models/pinned/versions/1/infer`, body)).status, 200);
    assert.equal((await postJson(`${srv.url}/v2/models/pinned/versions/3/infer`, body)).status, 200, 'latest is 3');
  });
});

describe('cold starts: a request waits for a loading version, bounded by cold_start_wait_ms', () => {
  it('past the bound it is answered 503 with Retry-After (the load goes on); within it, it waits and is answered', async () => {
    const impatient = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], serve: { cold_start_wait_ms: 0, models: [{ name: 'bc', load: 'lazy' }] } });
    try {
      const first = await postJson(`${impatient.url}/v2/models/bc/infer`, body);
      assert.equal(first.status, 503);
      assert.equal(first.headers.get('retry-after'), '1');
      assert.equal((first.body as { code: string }).code, 'FERRY_E_MODEL_NOT_READY');
      assert.match((first.body as { error: string }).error, /LOADING.*still loading after 0 ms \(cold_start_wait_ms\)/);
      // The load started by that request goes on; once it is done the model answers.
      for (let i = 0; i < 200 && (await fetch(`${impatient.url}/v2/models/bc/ready`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await postJson(`${impatient.url}/v2/models/bc/infer`, body)).status, 200);
    } finally {
      await impatient.cleanup();
    }
    const patient = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], serve: { models: [{ name: 'bc', load: 'lazy' }] } });
    try {
      const [a, b] = await Promise.all([postJson(`${patient.url}/v2/models/bc/infer`, body), postJson(`${patient.url}/v2/models/bc/infer`, body)]);
      assert.deepEqual([a.status, b.status], [200, 200], 'requests during the cold start waited for the load (default bound 10 s)');
    } finally {
      await patient.cleanup();
    }
  });
});
