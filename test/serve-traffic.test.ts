/**
 * Traffic policies: a weighted canary between versions, and a shadow that mirrors requests to
 * a challenger whose answers are recorded but never returned. Also dynamic batching and the
 * response cache through a real server.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture, numericRows } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const diabetes = fixture('diabetes_regressor');
const bcRows = numericRows(breast);
const bcBody = (r: number[]) => ({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: r }] });

describe('traffic policies, batching and cache', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;

  before(async () => {
    const reg = async (...args: string[]) => {
      const r = await runCli(['register', ...args], env);
      assert.equal(r.code, 0, r.stderr);
    };
    await reg(breast.model, '--name', 'bc');
    await reg(breast.model, '--name', 'bc');
    await reg(diabetes.model, '--name', 'reg');
    await reg(diabetes.model, '--name', 'reg', '--alias', 'challenger');
    await reg(breast.model, '--name', 'batched');
    await reg(breast.model, '--name', 'cached');
    const config = join(tmp.dir, 'ferry.yaml');
    writeFileSync(config, [
      'models:',
      '  - name: bc',
      '    versions: ["1", "2"]',
      '    canary: [{ target: "1", weight: 70 }, { target: "2", weight: 30 }]',
      '  - name: reg',
      '    shadow: { target: challenger, share: 0.5 }',
      '  - name: batched',
      '    batching: { max_batch_size: 16, max_queue_delay_us: 20000, max_inflight: 1 }',
      '  - name: cached',
      '    cache: { max_bytes: 1000000 }',
    ].join('\n'));
    server = await startServe(env, ['--config', config]);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  it('a 70/30 canary sends exactly 70% and 30% of requests, and says which version answered', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const res = await postJson(`${server.url}/v2/models/bc/infer`, bcBody(bcRows[i % bcRows.length]!));
      assert.equal(res.status, 200);
      const v = res.headers.get('x-ferry-model-version')!;
      counts[v] = (counts[v] ?? 0) + 1;
      assert.equal((res.body as { model_version: string }).model_version, v);
    }
    assert.deepEqual(counts, { 1: 70, 2: 30 });
    // Explicit versions bypass the split.
    const pinned = await postJson(`${server.url}/v2/models/bc/versions/2/infer`, bcBody(bcRows[0]!));
    assert.equal(pinned.headers.get('x-ferry-model-version'), '2');
  });

  it('a shadow gets half the requests mirrored; callers see only the primary; both answers are recorded', async () => {
    const rows = numericRows(diabetes);
    for (let i = 0; i < 20; i++) {
      const res = await postJson(`${server.url}/v2/models/reg/infer`, { inputs: [{ name: 'input', shape: [1, 10], datatype: 'FP32', data: rows[i]! }] });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ferry-model-version'), '2', 'the primary (latest) answers');
      const out = (res.body as { outputs: { data: number[] }[] }).outputs[0]!.data[0]!;
      assert.ok(Math.abs(out - (diabetes.expected.outputs.variable![i] as number)) < 1e-3);
    }
    // The recorder flushes every 200 ms; wait for the 10 mirrored requests to land.
    const deadline = Date.now() + 10_000;
    let shadow: { summary: { primary: number; shadow: number; n: number; agreement: number; errors: number }[] } | undefined;
    while (Date.now() < deadline) {
      const r = await runCli(['shadow', 'reg', '--json'], env);
      shadow = JSON.parse(r.stdout) as typeof shadow;
      if ((shadow?.summary[0]?.n ?? 0) >= 10) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(shadow?.summary, [{ primary: 2, shadow: 2, n: 10, agree: 10, errors: 0, maxDiff: 0, agreement: 1 }]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /ferry_shadow_requests_total\{model="reg",outcome="agree"\} 10/);
  });

  it('dynamic batching joins requests that arrive while a batch runs, and gives each its own answer', async () => {
    // A large request keeps the runtime busy (batches run one at a time: max_inflight 1), so
    // the 48 small ones sent with it queue behind it and are joined, at most 16 rows a call.
    const big = 200_000;
    const raw = Buffer.from(Float32Array.from({ length: big * 30 }, (_, i) => bcRows[0]![i % 30]!).buffer);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [big, 30], datatype: 'FP32', parameters: { binary_data_size: raw.length } }], outputs: [{ name: 'label', parameters: { binary_data: true } }] }));
    // Wait until the big batch has been handed to the runtime (the batch-size metric counts it at dispatch).
    // Batching is on by default, so the other models' requests (earlier tests) count in the histogram too: compare with before.
    const histogram = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return { sum: Number(/ferry_batch_size_sum (\d+)/.exec(text)?.[1] ?? 0), count: Number(/ferry_batch_size_count (\d+)/.exec(text)?.[1] ?? 0) };
    };
    const before = await histogram();
    const batches = async () => (await histogram()).count - before.count;
    const busy = fetch(`${server.url}/v2/models/batched/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, raw]) });
    while ((await batches()) < 1) await new Promise((r) => setTimeout(r, 2));
    const results = await Promise.all(bcRows.slice(0, 48).map((r) => postJson(`${server.url}/v2/models/batched/infer`, bcBody(r))));
    assert.equal((await busy).status, 200);
    results.forEach((res, i) => {
      assert.equal(res.status, 200);
      const label = (res.body as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === 'label')!.data[0];
      assert.equal(label, breast.expected.outputs.label![i], `row ${i}`);
    });
    const after = await histogram();
    const sum = after.sum - before.sum;
    const count = after.count - before.count;
    assert.equal(sum, big + 48, 'every row went through the batcher');
    assert.ok(count < 49, `requests were joined: ${count} runtime calls for 49 requests`);
  });

  it('the response cache answers repeated inputs from memory', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await postJson(`${server.url}/v2/models/cached/infer`, bcBody(bcRows[0]!))).status, 200);
    assert.equal((await postJson(`${server.url}/v2/models/cached/infer`, bcBody(bcRows[1]!))).status, 200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /ferry_cache_lookups_total\{model="cached",result="hit"\} 2/);
    assert.match(metrics, /ferry_cache_lookups_total\{model="cached",result="miss"\} 2/);
  });
});
