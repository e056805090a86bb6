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
