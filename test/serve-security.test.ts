/**
 * Security and lifecycle of the server: API keys with scopes (REST and gRPC), revocation,
 * TLS, loopback by default, and a graceful SIGTERM that finishes in-flight requests.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import * as protoLoader from '@grpc/proto-loader';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);

describe('API keys', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;
  let predictKey: { id: string; key: string };
  let adminKey: { id: string; key: string };

  before(async () => {
    assert.equal((await runCli(['register', breast.model, '--name', 'bc'], env)).code, 0);
    const create = async (...scopes: string[]) => {
      const r = await runCli(['apikey', 'create', '--name', `t-${scopes.join('-')}`, ...scopes.flatMap((s) => ['--scope', s]), '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { id: string; key: string };
    };
    predictKey = await create('predict');
    adminKey = await create('admin');
    server = await startServe(env, ['--auth', '--poll-interval', '100']);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  it('only hashes are stored; list never shows a key', async () => {
    const list = await runCli(['apikey', 'list', '--json'], env);
    assert.ok(!list.stdout.includes(predictKey.key) && !list.stdout.includes('hash'));
    const sqlite = new Database(join(env.FERRY_HOME, 'registry.db'), { readonly: true });
    const db = (sqlite.prepare('select hash from api_keys').all() as { hash: string }[]).map((r) => r.hash);
    sqlite.close();
    assert.equal(db.length, 2);
    assert.ok(db.every((h) => /^[0-9a-f]{64}$/.test(h)) && !db.includes(predictKey.key));
  });

  it('no key → 401, predict key → inference, admin scope needed for the repository', async () => {
    const anonymous = await postJson(`${server.url}/v2/models/bc/infer`, body);
    assert.equal(anonymous.status, 401);
    assert.match((anonymous.body as { error: string }).error, /API key is required/);
    assert.equal((await postJson(`${server.url}/v2/models/bc/infer`, body, { authorization: 'Bearer fk_nope0000_xxxxxxxxxxxxxxxxxxxxxxxx' })).status, 401);
    assert.equal((await postJson(`${server.url}/v2/models/bc/infer`, body, { authorization: `Bearer ${predictKey.key}` })).status, 200);
    assert.equal((await postJson(`${server.url}/v2/models/bc/infer`, body, { 'x-api-key': predictKey.key })).status, 200);
    const forbidden = await postJson(`${server.url}/v2/repository/models/bc/unload`, {}, { authorization: `Bearer ${predictKey.key}` });
    assert.equal(forbidden.status, 403);
    assert.match((forbidden.body as { error: string }).error, /"admin" scope/);
    assert.equal((await postJson(`${server.url}/v2/repository/models/bc/load`, {}, { authorization: `Bearer ${adminKey.key}` })).status, 200);
    assert.equal((await postJson(`${server.url}/v2/models/bc/infer`, body, { authorization: `Bearer ${adminKey.key}` })).status, 200, 'admin implies predict');
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200, 'health stays open for probes');
  });

  it('moving an alias through the server needs the admin scope and records who moved it', async () => {
    assert.equal((await runCli(['register', breast.model, '--name', 'bc'], env)).code, 0);
    const move = (key: string) => fetch(`${server.url}/ferry/v1/models/bc/aliases/champion`, { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ version: 2 }) });
    assert.equal((await move(predictKey.key)).status, 403);
    const res = await move(adminKey.key);
    assert.equal(res.status, 200);
    const event = (await res.json()) as { toVersion: number; actor: string };
    assert.equal(event.toVersion, 2);
    assert.equal(event.actor, `apikey:${adminKey.id} (t-admin)`);
    const answered = await postJson(`${server.url}/v2/models/bc/versions/champion/infer`, body, { authorization: `Bearer ${predictKey.key}` });
    assert.equal(answered.headers.get('x-ferry-model-version'), '2', 'this server reloaded at once');
    const history = await runCli(['alias', 'history', 'bc', 'champion', '--json'], env);
    assert.equal((JSON.parse(history.stdout) as { actor: string }[])[0]!.actor, event.actor);
  });

  it('gRPC checks the same keys from call metadata', async () => {
    const def = protoLoader.loadSync(join(ROOT, 'proto/open_inference_grpc.proto'), { keepCase: true, longs: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const ready = (meta: grpc.Metadata) => new Promise<{ code?: number; ready?: boolean }>((resolve) => {
      (client as unknown as { ModelReady: (req: object, meta: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: { ready: boolean }) => void) => void })
        .ModelReady({ name: 'bc' }, meta, (err, res) => resolve(err ? { code: err.code } : { ready: res?.ready ?? false }));
    });
    try {
      assert.deepEqual(await ready(new grpc.Metadata()), { code: grpc.status.UNAUTHENTICATED });
      const meta = new grpc.Metadata();
      meta.set('authorization', `Bearer ${predictKey.key}`);
      assert.deepEqual(await ready(meta), { ready: true });
    } finally {
      client.close();
    }
  });

  it('a revoked key stops working without a restart', async () => {
    assert.equal((await runCli(['apikey', 'revoke', predictKey.id], env)).code, 0);
    const deadline = Date.now() + 5000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await postJson(`${server.url}/v2/models/bc/infer`, body, { authorization: `Bearer ${predictKey.key}` })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 401);
  });
});

describe('TLS, loopback and graceful shutdown', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const cert = join(tmp.dir, 'cert.pem');
  const key = join(tmp.dir, 'key.pem');

  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    assert.equal((await runCli(['register', breast.model, '--name', 'bc'], env)).code, 0);
    assert.equal((await runCli(['register', fixture('digits_cnn').model, '--name', 'digits'], env)).code, 0);
  });
  after(() => tmp.cleanup());

  it('serves HTTPS with the given certificate; binds 127.0.0.1 by default', async () => {
    const server = await startServe(env, ['--tls-cert', cert, '--tls-key', key, '--grpc-port', 'off']);
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}/v2/models/bc/infer`, { method: 'POST', ca: readFileSync(cert), headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
      assert.equal(status, 200);
      await assert.rejects(fetch(server.url.replace('https:', 'http:') + '/v2/health/live'), 'plain HTTP is not served on the TLS port');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const server = await startServe(env, ['--grpc-port', 'off']);
    // A large request to the CNN (20 000 images) keeps the runtime busy for a while.
    const n = 20_000;
    const images = Buffer.from(new Float32Array(n * 64).fill(0.5).buffer);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [n, 1, 8, 8], datatype: 'FP32', parameters: { binary_data_size: images.length } }], outputs: [{ name: 'label' }] }));
    // Send the headers and the JSON part, hold the tensor bytes back, stop the server, then finish.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const stream = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(header);
        await gate;
        c.enqueue(images);
        c.close();
      },
    });
    const inflight = fetch(`${server.url}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length), 'content-length': String(header.length + images.length) },
      body: stream,
      duplex: 'half',
    });
    await new Promise((r) => setTimeout(r, 200));
    const exit = server.stop();
    await new Promise((r) => setTimeout(r, 100));
    release();
    const released = performance.now();
    const res = await inflight;
    assert.equal(res.status, 200);
    const out = (await res.json()) as { outputs: { shape: number[] }[] };
    assert.deepEqual(out.outputs[0]!.shape, [n]);
    assert.equal(await exit, 0);
    // The answered request's keep-alive connection must not hold the exit for the 72 s keep-alive timeout.
    assert.ok(performance.now() - released < 30_000, `exited ${Math.round(performance.now() - released)} ms after the request was released`);
    assert.match(server.output(), /shutting down: draining in-flight requests/);
  });
});
