/**
 * A model bound to a feature service (`ferry register … --features diabetes`) gets its inputs
 * from entity keys in every mode, through the pipeline's feature stage: the prediction from
 * `{patient_id, s6}` equals the prediction from the full feature row given to the same model
 * registered without features — on REST (OIP v2, MLflow, KServe v1), gRPC, batch and a Redis
 * stream — and the prediction log records the feature values actually used. Also the REST
 * feature read `POST /ferry/v1/features/<service>` and the `reject` policy as a row reject.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadConfig } from '../src/core/config.js';
import { openFerry } from '../src/main/ferry.js';
import { listPredictions } from '../src/monitoring/prediction-log-store.js';
import { readRows } from './helpers/batch.js';
import { redisBroker, startConsumer, uniqueName } from './helpers/brokers.js';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { DIABETES_COLUMNS, patientsYaml, UNTIL, writePatients } from './helpers/features.js';
import { fixture, records } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const diabetes = fixture('diabetes_regressor');
const rows = records(diabetes) as Record<string, number>[];
const N = 12;
/** What a caller knows: the patient and the request-time column. */
const keyed = rows.slice(0, N).map((r, i) => ({ patient_id: i, s6: r.s6 as number }));
const full = rows.slice(0, N).map((r) => Object.fromEntries(DIABETES_COLUMNS.map((c) => [c, r[c] as number])));

describe('a model bound to a feature service scores from entity keys in every mode (SQLite, registry store)', () => {
  const tmp = tempDir('ferry-fmodes-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester' };
  const cli = (args: string[]) => runCli(args, env);
  let server: ServeProcess | undefined;
  /** The full-row model's answers, the reference every mode must equal. */
  let reference: number[] = [];

  before(async () => {
    const yaml = patientsYaml(tmp.dir, writePatients(tmp.dir, rows), '    missing: {bp: reject}\n');
    for (const args of [
      ['features', 'apply', yaml],
      ['features', 'materialize', '--until', String(UNTIL)],
      ['register', diabetes.model, '-n', 'dfull', '--input-columns', `input=${DIABETES_COLUMNS.join(',')}`],
      ['register', diabetes.model, '-n', 'dfeat', '--input-columns', `input=${DIABETES_COLUMNS.join(',')}`, '--features', 'diabetes', '--reference', diabetes.input, '--reference-ignore', 'id'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    server = await startServe(env, ['--log-predictions', '--alerts-interval', '0', '--no-scheduler']);
    const r = await postJson(`${server.url}/models/dfull/invocations`, { dataframe_records: full }, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    reference = (r.body as { predictions: number[][] | number[] }).predictions.map((p) => (Array.isArray(p) ? p[0] as number : p));
    assert.equal(reference.length, N);
  });
  after(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  const same = (got: readonly number[], where: string) => assert.deepEqual(got, reference, `${where}: the entity-key prediction equals the full-row prediction`);

  it('register --features refuses an undeclared service before registering anything', async () => {
    const r = await cli(['register', diabetes.model, '-n', 'dnone', '--features', 'nope']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /FERRY_E_FEATURE_SERVICE_NOT_FOUND/);
    assert.equal((await cli(['versions', 'dnone'])).code, 3, 'no model was registered');
  });

  it('`models update <ref> --features` binds a version to a service (as `features bind`); --no-features unbinds it', async () => {
    assert.equal((await cli(['register', diabetes.model, '-n', 'dupd', '--input-columns', `input=${DIABETES_COLUMNS.join(',')}`])).code, 0);
    const bound = await cli(['models', 'update', 'dupd:1', '--features', 'diabetes', '--json']);
    assert.equal(bound.code, 0, bound.stderr);
    assert.equal((JSON.parse(bound.stdout) as { features_service: string }).features_service, 'diabetes');
    const shown = async () => (JSON.parse((await cli(['features', 'show', '--json'])).stdout) as { bindings: { model: string; version: number; service: string }[] }).bindings.filter((b) => b.model === 'dupd');
    assert.deepEqual(await shown(), [{ model: 'dupd', version: 1, service: 'diabetes' }]);
    const unknown = await cli(['models', 'update', 'dupd', '--features', 'nope']);
    assert.match(unknown.stderr, /FERRY_E_FEATURE_SERVICE_NOT_FOUND/);
    const versionTags = await cli(['models', 'update', 'dupd:1', '--description', 'x']);
    assert.match(versionTags.stderr, /FERRY_E_USAGE: .*description and tags belong to the model: give "dupd"/);
    const unbound = await cli(['models', 'update', 'dupd', '--no-features']);
    assert.equal(unbound.code, 0, unbound.stderr);
    assert.match(unbound.stdout, /dupd:1 is no longer bound to a feature service/);
    assert.deepEqual(await shown(), []);
  });

  it('REST: MLflow, KServe v1 and OIP v2 (named tensors) from {patient_id, s6}', async () => {
    const url = server!.url;
    const mlflow = await postJson(`${url}/models/dfeat/invocations`, { dataframe_records: keyed }, {});
    assert.equal(mlflow.status, 200, JSON.stringify(mlflow.body));
    same((mlflow.body as { predictions: (number | number[])[] }).predictions.map((p) => (Array.isArray(p) ? p[0] as number : p)), 'MLflow');
    const kserve = await postJson(`${url}/v1/models/dfeat:predict`, { instances: keyed });
    assert.equal(kserve.status, 200, JSON.stringify(kserve.body));
    same((kserve.body as { predictions: (number | number[])[] }).predictions.map((p) => (Array.isArray(p) ? p[0] as number : p)), 'KServe v1');
    const oip = await postJson(`${url}/v2/models/dfeat/infer`, {
      inputs: [
        { name: 'patient_id', datatype: 'INT64', shape: [N], data: keyed.map((k) => k.patient_id) },
        { name: 's6', datatype: 'FP64', shape: [N], data: keyed.map((k) => k.s6) },
      ],
    });
    assert.equal(oip.status, 200, JSON.stringify(oip.body));
    same((oip.body as { outputs: { data: number[] }[] }).outputs[0]!.data, 'OIP v2 REST');
  });

  it('gRPC ModelInfer with patient_id and s6 tensors', async () => {
    const definition = protoLoader.loadSync(join(ROOT, 'proto/open_inference_grpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${server!.grpcPort}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;
    try {
      const res = await new Promise<{ outputs: { contents: { fp32_contents: number[] } }[] }>((resolve, reject) => client.ModelInfer!({
        model_name: 'dfeat',
        inputs: [
          { name: 'patient_id', datatype: 'INT64', shape: [N], contents: { int64_contents: keyed.map((k) => String(k.patient_id)) } },
          { name: 's6', datatype: 'FP64', shape: [N], contents: { fp64_contents: keyed.map((k) => k.s6) } },
        ],
      }, (err, r) => (err ? reject(err) : resolve(r as { outputs: { contents: { fp32_contents: number[] } }[] }))));
      same(res.outputs[0]!.contents.fp32_contents, 'gRPC');
    } finally {
      client.close();
    }
  });

  it('the prediction log records the feature values the model actually used', async () => {
    await server!.stop();
    const app = await openFerry(loadConfig(env));
    try {
      const logged = await listPredictions(app.database, { model: 'dfeat' });
      assert.ok(logged.length >= N, `logged ${logged.length}`);
      // Rows (MLflow, KServe v1) are logged with their key and every looked-up column; named
      // tensors (OIP REST and gRPC) as the model input the stage packed (float32).
      const packed = new Set(full.map((r) => JSON.stringify(Object.fromEntries(DIABETES_COLUMNS.map((c) => [c, Math.fround(r[c] as number)])))));
      const sources = new Set<string>();
      for (const p of logged) {
        sources.add(p.source);
        if (p.source === 'oip-rest' || p.source === 'oip-grpc') {
          assert.ok(packed.has(JSON.stringify(p.inputs)), `${p.source}: logged input ${JSON.stringify(p.inputs)}`);
          continue;
        }
        const id = p.inputs.patient_id as number;
        for (const c of DIABETES_COLUMNS) assert.equal(p.inputs[c], rows[id]![c], `${p.source}: logged ${c} of patient ${id}`);
      }
      assert.deepEqual([...sources].sort(), ['kserve-v1', 'mlflow', 'oip-grpc', 'oip-rest']);
      // "Log and wait": label the logged predictions, export exactly what the model saw with its label.
      const labels = join(tmp.dir, 'labels.csv');
      writeFileSync(labels, `prediction_id,actual\n${logged.map((p, i) => `${p.id},${i}`).join('\n')}\n`);
      assert.equal((await cli(['feedback', '-f', labels])).code, 0);
      const exported = join(tmp.dir, 'logged.jsonl');
      const r = await cli(['features', 'training-set', 'diabetes', '--from-log', 'dfeat', '--output', exported, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const got = await readRows([exported]);
      assert.equal(got.length, logged.length);
      const byId = new Map(logged.map((p, i) => [p.id, { p, i }]));
      for (const row of got) {
        const { p, i } = byId.get(String(row.prediction_id))!;
        assert.equal(row.label, i);
        for (const c of DIABETES_COLUMNS) assert.equal(row[c], p.inputs[c], `exported ${c}`);
      }
    } finally {
      await app.close();
    }
    // The existing drift tests run on the served feature values (the reference: the full rows).
    const drift = await cli(['monitor', 'drift', 'dfeat', '--last', '1000', '--json']);
    assert.equal(drift.code, 0, drift.stderr);
    const report = JSON.parse(drift.stdout) as { features: { name: string }[] };
    assert.deepEqual(report.features.map((f) => f.name).sort(), [...DIABETES_COLUMNS].sort());
    server = await startServe(env, ['--alerts-interval', '0', '--no-scheduler']);
  });

  it('POST /ferry/v1/features/<service> reads many entities per call', async () => {
    const r = await postJson(`${server!.url}/ferry/v1/features/diabetes`, { entities: [{ patient_id: 2 }, { patient_id: 5 }, { patient_id: 4242 }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const body = r.body as { features: Record<string, unknown>[]; errors: { index: number; code: string }[] };
    assert.equal(body.features.length, 3);
    assert.equal(body.features[1]!.age, rows[5]!.age);
    assert.equal(body.features[0]!.s5, rows[2]!.s5);
    assert.deepEqual(body.errors.map((e) => [e.index, e.code]), [[2, 'FERRY_E_FEATURE_MISSING']]);
    const unknown = await postJson(`${server!.url}/ferry/v1/features/nope`, { entities: [{ patient_id: 1 }] });
    assert.equal(unknown.status, 404);
    // Freshness and null rate are Prometheus gauges.
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    assert.match(metrics, /ferry_feature_freshness_seconds\{view="patient_stats"\} \d+/);
    assert.match(metrics, /ferry_feature_lookup_rows\{service="diabetes"\} 3/);
    assert.match(metrics, /ferry_feature_missing_rows\{service="diabetes",feature="bp"\} 1/);
  });

  it('batch: entity keys in the input file; an unknown patient (reject policy) goes to the rejects with the reason', async () => {
    const input = join(tmp.dir, 'keys.csv');
    writeFileSync(input, `patient_id,s6\n${keyed.map((k) => `${k.patient_id},${k.s6}`).join('\n')}\n999,0.1\n`);
    const out = join(tmp.dir, 'out.jsonl');
    const rejects = join(tmp.dir, 'rejects.jsonl');
    const r = await cli(['batch', 'run', 'dfeat', '-i', input, '-o', out, '-k', 'patient_id', '--rejects', rejects]);
    assert.equal(r.code, 0, r.stderr);
    const got = await readRows([out]);
    same(got.map((x) => (Array.isArray(x.variable) ? x.variable[0] as number : x.variable as number)), 'batch');
    const bad = await readRows([rejects]);
    assert.equal(bad.length, 1);
    assert.match(JSON.stringify(bad[0]), /FERRY_E_FEATURE_MISSING/);
  });

  it('stream: a Redis Streams consumer scores {patient_id, s6} messages', async () => {
    const broker = redisBroker();
    const base = uniqueName('ferry-fstream');
    const n = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };
    try {
      const outputs = await broker.collect(n.output);
      const consumer = await startConsumer(['dfeat', '--from', broker.url(n.input), '--to', broker.url(n.output), '--dead-letter', broker.url(n.dead),
        '--group', n.group, '--consumer', 'c1', '--runtime-workers', '0', '--max-batch', '4'], env);
      try {
        await broker.publish(n.input, keyed.map((k, i) => JSON.stringify({ id: `m${i}`, inputs: k })));
        await outputs.until((m) => m.length >= N, `${N} outputs`);
      } finally {
        consumer.child.kill('SIGTERM');
        assert.equal(await consumer.exited, 0, consumer.log.join('\n'));
      }
      const byId = new Map(outputs.messages.map((m) => [String(m.id), m.outputs as Record<string, unknown>]));
      same(keyed.map((_, i) => { const v = byId.get(`m${i}`)?.variable; return Array.isArray(v) ? v[0] as number : v as number; }), 'stream');
    } finally {
      await broker.cleanup([n.input, n.output, n.dead], [{ group: n.group, consumers: ['c1'] }]);
    }
  });
});
