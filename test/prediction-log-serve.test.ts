/**
 * The prediction log behind a real server (in-process, real HTTP and gRPC on port 0), on
 * SQLite and PostgreSQL: ids in headers and bodies of every protocol, what is stored,
 * sampling, confidence in answers and the low-confidence flag, feedback and live metrics
 * over REST, Prometheus counters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { openServing, type ServingFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { listPredictions, type LoggedPrediction } from '../src/monitoring/prediction-log-store.js';
import { parseServeConfig, type ServeConfig } from '../src/serving/config.js';
import { ServingMetrics } from '../src/serving/metrics.js';
import { startServer, type RunningServer } from '../src/serving/server.js';
import { pgSchema, tempDir } from './helpers/env.js';
import { fixture, numericRows } from './helpers/fixtures.js';
import { grpcInfer } from './helpers/grpc-client.js';
import { postJson } from './helpers/server.js';

const bc = fixture('breast_mlp');
const diabetes = fixture('diabetes_regressor');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Env { app: ServingFerry; metrics: ServingMetrics; cleanup(): Promise<void> }

const silent = pino({ level: 'silent' });

const stores: Record<string, (serve: ServeConfig) => Promise<Env>> = {
  sqlite: async (serve) => {
    const home = tempDir('ferry-plogs-');
    const metrics = new ServingMetrics();
    const app = await openServing(loadConfig({ FERRY_HOME: home.dir }), serve, metrics, silent);
    return { app, metrics, cleanup: async () => { await app.close(); home.cleanup(); } };
  },
  postgres: async (serve) => {
    const home = tempDir('ferry-plogs-');
    const schema = await pgSchema('ferry_plogs');
    const metrics = new ServingMetrics();
    const app = await openServing(loadConfig({ FERRY_HOME: home.dir, FERRY_DATABASE_URL: schema.url }), serve, metrics, silent);
    return { app, metrics, cleanup: async () => { await app.close(); await schema.cleanup(); home.cleanup(); } };
  },
};

const bcRows = numericRows(bc).slice(0, 6);
const diabetesRows = numericRows(diabetes).slice(0, 4);
const oipBody = (rows: number[][], extra: object = {}) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, rows[0]?.length ?? 0], data: rows.flat() }], ...extra });

for (const [store, open] of Object.entries(stores)) {
  describe(`prediction log behind the server (${store})`, () => {
    let env: Env;
    let server: RunningServer;
    const url = (path: string) => `${server.httpUrl}${path}`;

    before(async () => {
      const config = parseServeConfig({
        port: 0, grpc_port: 0, runtime_workers: 0,
        prediction_log: { flush_interval_ms: 10 },
        models: [
          { name: 'bc', log: true, confidence: { min: 0.99 } },
          { name: 'diab', log: { sample: 0.5 } },
        ],
      });
      env = await open(config);
      await env.app.registry.register({ path: bc.model, name: 'bc', inputColumns: bc.meta.input_columns, actor: 'test' });
      await env.app.registry.register({ path: diabetes.model, name: 'diab', inputColumns: diabetes.meta.input_columns, actor: 'test' });
      server = await startServer(env.app, config, env.metrics, silent);
    });
    after(async () => {
      await server?.close();
      await env?.cleanup();
    });

    let logged: LoggedPrediction[] = [];
    const ids: Record<string, string[]> = {};

    it('returns one uuid v7 per row in x-prediction-id and the OIP parameters, and confidence when asked', async () => {
      const plain = await postJson(url('/v2/models/bc/infer'), oipBody(bcRows.slice(0, 2)));
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      const header = plain.headers.get('x-prediction-id')?.split(',') ?? [];
      assert.equal(header.length, 2);
      assert.ok(header.every((id) => UUID_V7.test(id)), header.join());
      assert.equal(plain.headers.get('x-prediction-count'), '2');
      const body = plain.body as { parameters: { prediction_ids: string }; outputs: { name: string; data: number[] }[] };
      assert.deepEqual(body.parameters.prediction_ids.split(','), header);
      assert.deepEqual(body.outputs.map((o) => o.name), ['label', 'probabilities']);
      ids.oip = header;

      // Only "label" asked for, and confidence: the probabilities are scored for it but not returned.
      const withConf = await postJson(url('/v2/models/bc/infer'), oipBody(bcRows.slice(2, 4), { outputs: [{ name: 'label' }], parameters: { confidence: true } }));
      assert.equal(withConf.status, 200, JSON.stringify(withConf.body));
      const out = (withConf.body as { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] }).outputs;
      assert.deepEqual(out.map((o) => o.name), ['label', 'confidence']);
      assert.deepEqual(out[1]?.shape, [2]);
      assert.equal(out[1]?.datatype, 'FP64');
      const probs = bc.expected.outputs.probabilities as number[][];
      out[1]?.data.forEach((c, i) => assert.ok(Math.abs(c - Math.max(...(probs[2 + i] as number[]))) < 1e-5, `confidence row ${i}: ${c}`));
      ids.oipConfidence = withConf.headers.get('x-prediction-id')?.split(',') ?? [];

      const bad = await postJson(url('/v2/models/bc/infer'), oipBody(bcRows.slice(0, 1), { parameters: { confidence: 'yes' } }));
      assert.equal(bad.status, 400);
    });

    it('MLflow and KServe v1 answer the ids (and confidence with ?confidence=true) next to "predictions"', async () => {
      const mlflow = await postJson(url('/models/bc/invocations?confidence=true'), { instances: [bcRows[4]] });
      assert.equal(mlflow.status, 200, JSON.stringify(mlflow.body));
      const m = mlflow.body as { predictions: unknown[]; prediction_ids: string[]; confidence: number[] };
      assert.equal(m.predictions.length, 1);
      assert.deepEqual(m.prediction_ids, mlflow.headers.get('x-prediction-id')?.split(','));
      assert.equal(m.confidence.length, 1);
      ids.mlflow = m.prediction_ids;
      const kserve = await postJson(url('/v1/models/bc:predict'), { instances: [bcRows[5]] });
      const k = kserve.body as { predictions: unknown[]; prediction_ids: string[]; confidence?: number[] };
      assert.equal(k.prediction_ids.length, 1);
      assert.equal(k.confidence, undefined);
      ids.kserve = k.prediction_ids;
    });

    it('gRPC answers the ids in metadata and parameters', async () => {
      assert.ok(server.grpcPort);
      const { res, headers } = await grpcInfer(server.grpcPort, {
        model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], contents: { fp32_contents: bcRows[0] } }],
        parameters: { confidence: { bool_param: true } },
      });
      const idsParam = (res.parameters as Record<string, { string_param: string }>).prediction_ids?.string_param ?? '';
      assert.match(idsParam, UUID_V7);
      assert.equal(headers.get('x-prediction-id')[0], idsParam);
      assert.deepEqual((res.outputs as { name: string }[]).map((o) => o.name), ['label', 'probabilities', 'confidence']);
      ids.grpc = [idsParam];
    });

    it('logs exactly the sampled share of requests', async () => {
      let answered = 0;
      for (const row of diabetesRows) {
        const r = await postJson(url('/v2/models/diab/infer'), oipBody([row]));
        assert.equal(r.status, 200);
        if (r.headers.get('x-prediction-id')) answered++;
      }
      assert.equal(answered, 2);
    });

    it('stores id, version, time, source, inputs by column, outputs, latency and confidence', async () => {
      await server.context.pipeline.flush();
      logged = await listPredictions(env.app.database, { model: 'bc' });
      assert.equal(logged.length, 7);
      const byId = new Map(logged.map((p) => [p.id, p]));
      const sources = Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, v.map((id) => byId.get(id)?.source)]));
      assert.deepEqual(sources, { oip: ['oip-rest', 'oip-rest'], oipConfidence: ['oip-rest', 'oip-rest'], mlflow: ['mlflow'], kserve: ['kserve-v1'], grpc: ['oip-grpc'] });
      const first = byId.get(ids.oip?.[0] ?? '');
      assert.ok(first);
      assert.equal(first.version, 1);
      assert.ok(Math.abs(Date.now() - first.at) < 60_000);
      const columns = bc.meta.input_columns.input ?? [];
      assert.deepEqual(Object.keys(first.inputs), columns);
      columns.forEach((c, j) => assert.equal(first.inputs[c], Math.fround(bcRows[0]?.[j] ?? NaN)));
      assert.equal(first.outputs.label, (bc.expected.outputs.label as number[])[0]);
      assert.equal((first.outputs.probabilities as number[]).length, 2);
      assert.ok(first.latencyMs > 0);
      for (const p of logged) {
        const probs = p.outputs.probabilities as number[] | undefined;
        assert.ok(p.confidence !== null);
        if (probs) assert.ok(Math.abs(p.confidence - Math.max(...probs)) < 1e-6);
        assert.equal(p.lowConfidence, p.confidence < 0.99);
      }
      // MLflow rows giving the whole input under its name are logged by column too.
      const mlflowRow = byId.get(ids.mlflow?.[0] ?? '');
      assert.deepEqual(Object.keys(mlflowRow?.inputs ?? {}), columns);
      assert.equal(mlflowRow?.inputs.mean_radius, bcRows[4]?.[0]);
      assert.equal((await listPredictions(env.app.database, { model: 'diab' })).length, 2);
      assert.ok(logged.some((p) => p.lowConfidence) || logged.every((p) => (p.confidence ?? 0) >= 0.99));
    });

    it('POST /v1/feedback attaches ground truth, reports unknown ids and malformed items', async () => {
      const truth = bc.expected.outputs.label as number[];
      const items = logged.map((p, i) => ({ prediction_id: p.id, actual: i === 0 ? 1 - (p.outputs.label as number) : p.outputs.label }));
      const r = await postJson(url('/v1/feedback'), [...items, { prediction_id: 'no-such-id', actual: 1 }, { actual: 0 }]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { attached: 7, unknown: ['no-such-id'], rejected: [{ index: 8, reason: '"prediction_id" must be a non-empty string' }] });
      const single = await postJson(url('/v1/feedback'), { prediction_id: logged[1]?.id, actual: truth[1] });
      assert.deepEqual(single.body, { attached: 1, unknown: [], rejected: [] });
      const malformed = await postJson(url('/v1/feedback'), '{"prediction_id":');
      assert.equal(malformed.status, 400);
    });

    it('GET /ferry/v1/models/{m}/metrics answers live metrics with label coverage', async () => {
      const r = await fetch(url('/ferry/v1/models/bc/metrics?window=1h'));
      assert.equal(r.status, 200);
      const m = await r.json() as { total: number; labelled: number; coverage: number; task: string; output: string; metrics: Record<string, number | null>; lowConfidence: number };
      assert.equal(m.total, 7);
      assert.equal(m.labelled, 7);
      assert.equal(m.coverage, 1);
      assert.equal(m.task, 'classification');
      assert.equal(m.output, 'label');
      assert.ok(Math.abs((m.metrics.accuracy ?? 0) - 6 / 7) < 1e-12, JSON.stringify(m.metrics));
      assert.equal(m.lowConfidence, logged.filter((p) => p.lowConfidence).length);
      const bad = await fetch(url('/ferry/v1/models/bc/metrics?window=soon'));
      assert.equal(bad.status, 400);
    });

    it('GET /ferry/v1/predictions/{id} answers one logged prediction, ground truth included; the model\'s listing the newest of a window', async () => {
      const stored = await listPredictions(env.app.database, { model: 'bc' });
      const one = stored[2];
      assert.ok(one && one.actual !== undefined, 'feedback attached above');
      const r = await fetch(url(`/ferry/v1/predictions/${one.id}`));
      assert.equal(r.status, 200);
      const body = await r.json() as Record<string, unknown>;
      assert.deepEqual(body, JSON.parse(JSON.stringify({ ...one, at: new Date(one.at).toISOString(), actualAt: new Date(one.actualAt ?? 0).toISOString() })));
      const unknown = await fetch(url('/ferry/v1/predictions/01000000-0000-7000-8000-000000000000'));
      assert.equal(unknown.status, 404);
      assert.equal((await unknown.json() as { code: string }).code, 'FERRY_E_PREDICTION_NOT_FOUND');
      assert.equal((await fetch(url(`/ferry/v1/predictions/${'x'.repeat(101)}`))).status, 414, 'an id is bounded before it is looked up');

      const list = async (query: string) => {
        const res = await fetch(url(`/ferry/v1/models/bc/predictions${query}`));
        return { status: res.status, body: await res.json() as { model: string; predictions: { id: string; lowConfidence: boolean; at: string }[]; code?: string } };
      };
      const newest = await list('?limit=3');
      assert.equal(newest.status, 200);
      assert.deepEqual(newest.body.predictions.map((p) => p.id), stored.slice(-3).map((p) => p.id), 'the newest 3, oldest first');
      assert.equal(newest.body.model, 'bc');
      assert.equal((await list('?window=1h')).body.predictions.length, 7);
      assert.deepEqual((await list('?low_confidence=true')).body.predictions.map((p) => p.id), stored.filter((p) => p.lowConfidence).map((p) => p.id));
      assert.equal((await list('?labelled=false')).body.predictions.length, 0, 'every bc prediction has ground truth by now');
      assert.equal((await list('?since=2999-01-01T00:00:00Z')).body.predictions.length, 0);
      for (const bad of ['?limit=0', '?limit=1001', '?labelled=maybe', '?window=soon', '?version=x']) {
        const b = await list(bad);
        assert.equal(b.status, 400, bad);
        assert.equal(b.body.code, 'FERRY_E_PARAMETER_INVALID', bad);
      }
    });

    it('counts written predictions and shows live metrics in Prometheus', async () => {
      const text = await (await fetch(url('/metrics'))).text();
      assert.match(text, /^ferry_prediction_log_written_total 9$/m);
      assert.match(text, /^ferry_prediction_log_queued 0$/m);
      assert.match(text, /^ferry_live_label_coverage\{model="bc"\} 1$/m);
      assert.match(text, /^ferry_live_predictions\{model="bc",kind="labelled"\} 7$/m);
      const accuracy = /^ferry_live_metric\{model="bc",metric="accuracy"\} (\S+)$/m.exec(text)?.[1];
      assert.ok(Math.abs(Number(accuracy) - 6 / 7) < 1e-12, `accuracy gauge ${accuracy}`);
      assert.match(text, /^ferry_live_label_coverage\{model="diab"\} 0$/m);
    });
  });
}
