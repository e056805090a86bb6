/**
 * The same row gives the same explanation on every path: `ferry explain` (CLI), KServe v1
 * `:explain`, MLflow `/invocations` with `params: {"explain": true}`, the Open Inference Protocol
 * with `parameters: {"explain": true}` (a `contributions` output) over REST and gRPC, against a real `ferry serve`,
 * a `ferry stream run --explain --log-predictions` consumer on Redis Streams (its rows logged with their attributions)
 * and `ferry batch run --explain`; every one equals xgboost's own pred_contribs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { readMatrix } from './helpers/matrix.js';
import { grpcInfer } from './helpers/grpc-client.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';
import { redisBroker, startConsumer, uniqueName } from './helpers/brokers.js';

const DIR = join(ROOT, 'fixtures/xgboost/breast_hist');
const { columns, rows, x } = readMatrix(join(DIR, 'input.csv'));
const F = columns.length;
const ref = JSON.parse(readFileSync(join(ROOT, 'fixtures/explain/xgboost/breast_hist.json'), 'utf8')) as { contribs: number[][] };
const records = Array.from({ length: rows }, (_, r) => Object.fromEntries(columns.map((c, j) => [c, Number.isNaN(x[r * F + j]!) ? null : x[r * F + j]!])));

interface Explained { contributions: Record<string, number>; base_value: number; residual: number; method: string; top_k?: unknown[] }

/** Contributions in input order, then the base value (pred_contribs' layout). */
const vector = (e: Explained): number[] => [...columns.map((c) => e.contributions[c]!), e.base_value];

function assertReference(got: number[][], path: string): void {
  assert.equal(got.length, rows, path);
  got.forEach((row, r) => row.forEach((v, j) => {
    const want = ref.contribs[r]![j]!;
    assert.ok(Math.abs(v - want) <= 1e-4 + 1e-4 * Math.abs(want), `${path} row ${r} column ${j}: ${v} vs xgboost ${want}`);
  }));
}

describe('explanations on every path', () => {
  const tmp = tempDir('ferry-explain-paths-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;
  let cli: number[][];

  before(async () => {
    assert.equal((await runCli(['register', join(DIR, 'model.json'), '--name', 'breast'], env)).code, 0);
    const out = join(tmp.dir, 'cli.jsonl');
    const r = await runCli(['explain', 'breast', '--input', join(DIR, 'input.csv'), '--key', 'id', '--output', out], env);
    assert.equal(r.code, 0, r.stderr);
    cli = readFileSync(out, 'utf8').trim().split('\n').map((l) => vector(JSON.parse(l) as Explained));
    server = await startServe(env);
  });
  after(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('CLI: xgboost pred_contribs', () => assertReference(cli, 'cli'));

  it('KServe v1 :explain: the same numbers as the CLI', async () => {
    const r = await postJson(`${server.url}/v1/models/breast:explain`, { instances: records, explain: { top_k: 2 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const explanations = (r.body as { explanations: Explained[] }).explanations;
    assert.deepEqual(explanations.map(vector), cli);
    assert.equal(explanations[0]!.top_k!.length, 2);
    assert.equal(explanations[0]!.method, 'tree-shap');
  });

  it('MLflow params.explain: predictions plus the same explanations', async () => {
    const r = await postJson(`${server.url}/models/breast/invocations`, { dataframe_records: records, params: { explain: true } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const body = r.body as { predictions: unknown[]; explanations: Explained[] };
    assert.equal(body.predictions.length, rows);
    assert.deepEqual(body.explanations.map(vector), cli);
  });

  it('OIP parameters.explain: a contributions output [n, features + 1] with its names', async () => {
    const data = Array.from(x, (v) => (Number.isNaN(v) ? null : v));
    const r = await postJson(`${server.url}/v2/models/breast/infer`, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, F], data }],
      parameters: { explain: true },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const outputs = (r.body as { outputs: { name: string; shape: number[]; data: (number | string)[] }[] }).outputs;
    const contributions = outputs.find((o) => o.name === 'contributions')!;
    const names = outputs.find((o) => o.name === 'contribution_names')!;
    assert.deepEqual(contributions.shape, [rows, F + 1]);
    assert.deepEqual(names.data, [...columns, 'base_value']);
    const got = Array.from({ length: rows }, (_, i) => (contributions.data as number[]).slice(i * (F + 1), (i + 1) * (F + 1)));
    assert.deepEqual(got, cli);
    assert.ok(outputs.some((o) => o.name === 'probabilities'), 'the predictions are still there');
  });

  it('OIP gRPC ModelInfer with parameter explain: the same contributions tensor as REST', async () => {
    const { res } = await grpcInfer(server.grpcPort!, {
      model_name: 'breast',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, F], contents: { fp32_contents: Array.from(x) } }],
      parameters: { explain: { bool_param: true } },
    });
    const outputs = res.outputs as { name: string; datatype: string; shape: string[]; contents: { fp64_contents: number[]; bytes_contents: Buffer[] } }[];
    const contributions = outputs.find((o) => o.name === 'contributions')!;
    const names = outputs.find((o) => o.name === 'contribution_names')!;
    assert.deepEqual(contributions.shape.map(Number), [rows, F + 1]);
    assert.equal(contributions.datatype, 'FP64');
    assert.deepEqual(names.contents.bytes_contents.map(String), [...columns, 'base_value']);
    const data = contributions.contents.fp64_contents;
    const got = Array.from({ length: rows }, (_, i) => data.slice(i * (F + 1), (i + 1) * (F + 1)));
    assert.deepEqual(got, cli);
    assert.ok(outputs.some((o) => o.name === 'probabilities'), 'the predictions are still there');
  });

  it('stream --explain (Redis Streams): each output carries the same explanation', async () => {
    const broker = redisBroker();
    const n = { input: uniqueName('explain-in'), output: uniqueName('explain-out'), dead: uniqueName('explain-dead'), group: uniqueName('explain-g') };
    const out = await broker.collect(n.output);
    const c = await startConsumer(['breast', '--from', broker.url(n.input), '--to', broker.url(n.output), '--dead-letter', broker.url(n.dead),
      '--group', n.group, '--consumer', 'c1', '--metrics-port', '0', '--runtime-workers', '0', '--poll-interval', '100', '--explain', '--log-predictions'], env);
    try {
      await broker.publish(n.input, records.map((row, i) => JSON.stringify({ id: `r${i}`, inputs: row })));
      await out.until((m) => m.length >= rows, 'every row explained', 60_000);
      const byId = new Map(out.messages.map((m) => [String(m.id), m]));
      const got = records.map((_, i) => {
        const m = byId.get(`r${i}`) as { outputs?: { explanation: Explained } } | undefined;
        const e = m?.outputs?.explanation;
        assert.ok(e, `output of r${i} has an explanation: ${JSON.stringify(m)}`);
        return vector(e);
      });
      assert.deepEqual(got, cli);
      // Logged with their explanations: the stream's rows are the attribution summary's rows.
      let explained = 0;
      for (let i = 0; i < 50 && explained < rows; i++) {
        const m = await runCli(['monitor', 'attributions', 'breast', '--window', '1h', '--json'], env);
        explained = (JSON.parse(m.stdout) as { rows: number }).rows;
        if (explained < rows) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(explained, rows, 'every streamed row logged with its explanation');
    } finally {
      c.child.kill('SIGTERM');
      await c.exited;
      await out.close();
      await broker.cleanup([n.input, n.output, n.dead], [{ group: n.group, consumers: ['c1'] }]);
    }
  });

  it('batch run --explain: contrib_<feature> columns with the same numbers', async () => {
    const out = join(tmp.dir, 'batch.jsonl');
    const r = await runCli(['batch', 'run', 'breast', '--input', join(DIR, 'input.csv'), '--output', out, '--key', 'id', '--explain', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    lines.sort((a, b) => Number(a.id) - Number(b.id));
    const got = lines.map((l) => [...columns.map((c) => l[`contrib_${c}`] as number), l.base_value as number]);
    assert.deepEqual(got, cli);
    assert.equal(lines[0]!.explain_method, 'tree-shap');
  });
});
