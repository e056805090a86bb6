/**
 * `ferry monitor drift` over the prediction log and over a file, the REST endpoint with its
 * Prometheus gauges, and alert rules evaluated inside `ferry serve` — on SQLite and
 * PostgreSQL, the CLI in process, `ferry serve` as a real process, real HTTP.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { openFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { insertPredictions } from '../src/monitoring/prediction-log-store.js';
import { runCli } from './helpers/cli.js';
import { fixture, table } from './helpers/fixtures.js';
import { postJson, startServe } from './helpers/server.js';
import { storeEnvs } from './helpers/stores.js';

const breast = fixture('breast_mlp');

const envs = await storeEnvs();
for (const store of envs) {
  describe(`monitor drift (${store.name})`, () => {
    const cli = (args: string[]) => runCli(args, store.env);
    before(async () => {
      for (const args of [
        ['register', breast.model, '-n', 'breast', '--reference', breast.input, '--reference-ignore', 'id'],
        ['register', breast.model, '-n', 'breast'],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 0, r.stderr);
      }
      // 50 shifted predictions logged 10 minutes ago (features × 1.6), half as whole tensors.
      const app = await openFerry(loadConfig(store.env));
      try {
        const { columns, rows } = table(breast);
        const at = Date.now() - 10 * 60_000;
        await insertPredictions(app.database, rows.map((r, i) => {
          const values = r.map((v) => Number(v) * 1.6);
          return {
            id: `p-${i}`, model: 'breast', version: 1, at: at + i, source: 'oip-rest',
            inputs: JSON.stringify(i % 2 ? { input: values } : Object.fromEntries(columns.map((c, j) => [c, values[j]]))),
            outputs: JSON.stringify({ label: i % 3 === 0 ? 0 : 1, probabilities: [0.3, 0.7] }), latencyMs: 3, confidence: null, lowConfidence: false,
          };
        }));
      } finally {
        await app.close();
      }
    });
    after(() => store.cleanup());

    it('--json over the log prints exactly {dataset_drift, share, features[{name, test, statistic, p_value|distance, threshold, drift}]}', async () => {
      const r = await cli(['monitor', 'drift', 'breast:1', '--last', '50', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { dataset_drift: boolean; share: number; features: Record<string, unknown>[] };
      assert.deepEqual(Object.keys(d), ['dataset_drift', 'share', 'features']);
      assert.equal(d.dataset_drift, true);
      assert.equal(d.features.length, 30);
      assert.ok(d.share >= 0.5);
      for (const f of d.features) assert.deepEqual(Object.keys(f), ['name', 'test', 'statistic', 'p_value', 'threshold', 'drift']);
      const w = await cli(['monitor', 'drift', 'breast:1', '--window', '1h', '--json', '--test', 'psi']);
      assert.equal(w.code, 0, w.stderr);
      const p = JSON.parse(w.stdout) as { features: { test: string; distance: number }[] };
      assert.ok(p.features.every((f) => f.test === 'psi' && typeof f.distance === 'number'));
    });

    it('prediction drift with --outputs; the human table names tests and verdicts', async () => {
      const r = await cli(['monitor', 'drift', 'breast:1', '--last', '50', '--outputs', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { features: { name: string; test: string }[] };
      assert.deepEqual(d.features.map((f) => [f.name, f.test]), [['label', 'z'], ['probabilities[0]', 'ks'], ['probabilities[1]', 'ks']]);
      const human = await cli(['monitor', 'drift', 'breast:1', '--last', '50']);
      assert.match(human.stdout, /Drift of breast:1: 50 current row\(s\) against 50 reference row\(s\)/);
      assert.match(human.stdout, /Dataset drift: YES — \d+ of 30 column\(s\) drifted/);
      assert.match(human.stdout, /Prediction drift: /);
    });

    it('--data tests a file directly: the reference data itself shows no drift', async () => {
      const r = await cli(['monitor', 'drift', 'breast:1', '--data', breast.input, '--ignore', 'id', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { dataset_drift: boolean; share: number };
      assert.deepEqual([d.dataset_drift, d.share], [false, 0]);
    });

    it('catalog errors: no profile, no logged data, bad options', async () => {
      const none = await cli(['monitor', 'drift', 'breast:2', '--data', breast.input, '--ignore', 'id']);
      assert.equal(none.code, 3);
      assert.match(none.stderr, /FERRY_E_PROFILE_NOT_FOUND: breast:2 has no reference profile/);
      const empty = await cli(['monitor', 'drift', 'breast:1', '--window', '1m']);
      assert.equal(empty.code, 4);
      assert.match(empty.stderr, /FERRY_E_DRIFT_NO_DATA/);
      const bad = await cli(['monitor', 'drift', 'breast:1', '--test', 'magic']);
      assert.equal(bad.code, 2);
    });

    it('end to end: predictions served with --log-predictions (packed tensor rows) are tested against the profile', async () => {
      const reg = await cli(['register', breast.model, '-n', 'served', '--reference', breast.input, '--reference-ignore', 'id', '--input-columns', `input=${breast.meta.input_columns.input?.join(',')}`]);
      assert.equal(reg.code, 0, reg.stderr);
      const server = await startServe(store.env, ['--log-predictions', '--grpc-port', 'off', '--alerts-interval', '0']);
      try {
        const rows = table(breast).rows.map((r) => r.map((v) => Number(v) * 1.6));
        const res = await postJson(`${server.url}/v2/models/served/infer`, { inputs: [{ name: 'input', shape: [rows.length, 30], datatype: 'FP32', data: rows.flat() }] });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.headers.get('x-prediction-count'), '50');
      } finally {
        await server.stop();
      }
      const r = await cli(['monitor', 'drift', 'served:1', '--last', '50', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { dataset_drift: boolean; features: { name: string }[] };
      assert.equal(d.dataset_drift, true);
      assert.equal(d.features.length, 30);
      assert.equal(d.features[0]?.name, 'mean_radius', 'packed rows are spread onto the data columns');
      const out = await cli(['monitor', 'drift', 'served:1', '--last', '50', '--outputs', '--json']);
      assert.deepEqual((JSON.parse(out.stdout) as { features: { name: string }[] }).features.map((f) => f.name), ['label', 'probabilities[0]', 'probabilities[1]']);
    });

    it('REST: GET /ferry/v1/models/breast/drift and the Prometheus drift gauges; alert rules run inside serve', async () => {
      const bodies: Record<string, unknown>[] = [];
      const hook = createServer((req, res) => {
        let data = '';
        req.on('data', (d: Buffer) => { data += d.toString(); });
        req.on('end', () => { bodies.push(JSON.parse(data) as Record<string, unknown>); res.writeHead(200).end(); });
      });
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
      const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
      const add = await cli(['alerts', 'add', 'serve-drift', '--model', 'breast:1', '--kind', 'drift', '--webhook', hookUrl]);
      assert.equal(add.code, 0, add.stderr);
      const server = await startServe(store.env, ['--alerts-interval', '200', '--grpc-port', 'off']);
      try {
        const res = await fetch(`${server.url}/ferry/v1/models/breast/drift?version=1&last=50`);
        assert.equal(res.status, 200);
        const body = await res.json() as { model: string; version: number; current_rows: number; dataset_drift: boolean; share: number; features: unknown[]; prediction_drift: { features: unknown[] } };
        assert.deepEqual([body.model, body.version, body.current_rows, body.dataset_drift, body.features.length, body.prediction_drift.features.length], ['breast', 1, 50, true, 30, 3]);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        assert.match(metrics, new RegExp(`ferry_drift_share\\{model="breast",version="1",target="features"\\} ${body.share}`));
        assert.match(metrics, /ferry_drift_detected\{model="breast",version="1",target="features"\} 1/);
        assert.match(metrics, /ferry_drift_column_drifted\{model="breast",version="1",column="mean_radius",test="ks"\} [01]/);
        const missing = await fetch(`${server.url}/ferry/v1/models/breast/drift?version=2`);
        assert.equal(missing.status, 404);
        assert.equal(((await missing.json()) as { code: string }).code, 'FERRY_E_PROFILE_NOT_FOUND');
        for (let i = 0; i < 100 && bodies.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(bodies[0]?.rule, 'serve-drift');
        assert.equal(bodies[0]?.state, 'firing');
      } finally {
        await server.stop();
        await new Promise<void>((resolve) => { hook.close(() => resolve()); });
      }
      const history = await cli(['alerts', 'history', '--json']);
      assert.equal((JSON.parse(history.stdout) as { rule: string; delivery: string }[])[0]?.delivery, 'delivered');
    });
  });
}
