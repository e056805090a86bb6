/**
 * A slow model never blocks requests to other models: while one huge request runs on the CNN,
 * small requests to another model keep being answered (inference runs off the event loop).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const small = oneRowRequest(breast);

describe('isolation between models', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;

  before(async () => {
    assert.equal((await runCli(['register', breast.model, '--name', 'fast'], env)).code, 0);
    assert.equal((await runCli(['register', fixture('digits_cnn').model, '--name', 'slow'], env)).code, 0);
    // Default settings: each loaded version runs in a worker thread (with --runtime-workers 0 this test fails).
    server = await startServe(env, ['--grpc-port', 'off']);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  it('small requests to one model are answered while another model runs a huge request', async (t) => {
    const n = 150_000; // ~0.4 s of CNN work on this machine, sent as 38 MB of binary tensor data
    const images = Buffer.from(new Float32Array(n * 64).fill(0.5).buffer);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [n, 1, 8, 8], datatype: 'FP32', parameters: { binary_data_size: images.length } }], outputs: [{ name: 'label' }] }));
    const started = performance.now();
    let bigDone = 0;
    const big = fetch(`${server.url}/v2/models/slow/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, images]) })
      .then(async (res) => { bigDone = performance.now(); assert.equal(res.status, 200); await res.arrayBuffer(); });
    const latencies: number[] = [];
    while (bigDone === 0) {
      const t0 = performance.now();
      const res = await postJson(`${server.url}/v2/models/fast/infer`, small);
      assert.equal(res.status, 200);
      // Every small request sent while the big one was running counts, even one that ends after it.
      latencies.push(performance.now() - t0);
    }
    await big;
    const bigMs = bigDone - started;
    // How long the CNN itself computed (the rest of bigMs is upload and parsing).
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const computeMs = 1000 * Number(/ferry_compute_duration_seconds_sum\{model="slow"\} ([\d.e-]+)/.exec(metrics)?.[1]);
    assert.ok(computeMs > 100, `the big request computed for ${computeMs} ms; too short to tell`);
    const worst = Math.max(...latencies);
    t.diagnostic(`worst small-request wait ${worst.toFixed(0)} ms, bound ${(computeMs / 4).toFixed(0)} ms (compute ${computeMs.toFixed(0)} ms, big request ${bigMs.toFixed(0)} ms, ${latencies.length} small requests)`);
    assert.ok(latencies.length >= 3, `only ${latencies.length} small requests were answered during the ${bigMs.toFixed(0)} ms big one`);
    // Were the event loop blocked by the computation, some small request would wait most of it.
    assert.ok(worst < computeMs / 4, `a small request waited ${worst.toFixed(0)} ms while the CNN computed for ${computeMs.toFixed(0)} ms`);
  });
});
