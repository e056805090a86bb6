/**
 * Explanations in monitoring, on real logged data in the embedded SQLite registry: a batch run with
 * `--explain --log-predictions` logs each row's attributions; `ferry monitor attributions` gives the
 * mean |contribution| per column equal to the batch output's own contrib_ columns; an
 * `attribution-drift` alert rule fires when the shares move between two windows; a server logging
 * `explain: true` requests answers the same summary on `/ferry/v1/models/{m}/attributions` and as
 * Prometheus gauges; a deployment with `log: {explain: share}` logs explanations of requests that
 * did not ask for one, without changing their answers.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from '../src/vendor/kysely.js';
import { loadConfig } from '../src/core/config.js';
import { openFerry } from '../src/main/ferry.js';
import type { AlertRule } from '../src/monitoring/alerts-store.js';
import { AlertEngine } from '../src/monitoring/alerts.js';
import { attributionShift, type AttributionSummary } from '../src/monitoring/attributions.js';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { readMatrix } from './helpers/matrix.js';
import { postJson, startServe } from './helpers/server.js';

const DIR = join(ROOT, 'fixtures/xgboost/breast_hist');
const { columns, rows, x } = readMatrix(join(DIR, 'input.csv'));
const F = columns.length;
const HOUR = 3_600_000;

/** Mean |contrib_<column>| per column of a batch output. */
function meanAbs(file: string): Map<string, number> {
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  return new Map(columns.map((c) => [c, lines.reduce((s, l) => s + Math.abs(l[`contrib_${c}`]!), 0) / lines.length]));
}

describe('attribution monitoring', () => {
  const tmp = tempDir('ferry-explain-monitoring-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let first: AttributionSummary;

  before(async () => {
    const r = await runCli(['register', join(DIR, 'model.json'), '--name', 'breast'], env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => tmp.cleanup());

  it('batch --explain --log-predictions: monitor attributions equals the mean |contribution| of the batch output', async () => {
    const out = join(tmp.dir, 'a.jsonl');
    const r = await runCli(['batch', 'run', 'breast', '--input', join(DIR, 'input.csv'), '--output', out, '--key', 'id', '--explain', '--log-predictions', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const m = await runCli(['monitor', 'attributions', 'breast', '--window', '1h', '--json'], env);
    assert.equal(m.code, 0, m.stderr);
    first = JSON.parse(m.stdout) as AttributionSummary;
    assert.equal(first.rows, rows);
    assert.equal(first.space, 'margin');
    assert.equal(first.features.length, F);
    const want = meanAbs(out);
    for (const f of first.features) assert.ok(Math.abs(f.mean_abs - want.get(f.feature)!) <= 1e-12, `${f.feature}: ${f.mean_abs} vs ${want.get(f.feature)}`);
    assert.ok(Math.abs(first.features.reduce((s, f) => s + f.share, 0) - 1) <= 1e-12);
    assert.ok(first.features.every((f, i) => i === 0 || first.features[i - 1]!.mean_abs >= f.mean_abs), 'largest first');
    const text = await runCli(['monitor', 'attributions', 'breast', '--window', '1h'], env);
    assert.match(text.stdout, new RegExp(`${first.features[0]!.feature}\\s+\\S+\\s+\\d+\\.\\d%`));
  });

  it('attribution-drift fires when the shares move between the window before and the window, and not under a higher threshold', async () => {
    const app = await openFerry(loadConfig(env));
    try {
      // The first run's rows become the previous window; the next run scores rows whose strongest column is missing.
      await sql`update prediction_log set at = at - ${1.5 * HOUR}`.execute(app.database.kysely);
      const top = first.features[0]!.feature;
      const csv = readFileSync(join(DIR, 'input.csv'), 'utf8').trim().split('\n');
      const col = csv[0]!.split(',').indexOf(top);
      writeFileSync(join(tmp.dir, 'b.csv'), [csv[0], ...csv.slice(1).map((l) => l.split(',').map((v, i) => (i === col ? '' : v)).join(','))].join('\n'));
      const r = await runCli(['batch', 'run', 'breast', '--input', join(tmp.dir, 'b.csv'), '--output', join(tmp.dir, 'b.jsonl'), '--key', 'id', '--explain', '--log-predictions'], env);
      assert.equal(r.code, 0, r.stderr);

      const now = Date.now();
      const summary = async (since: number, until: number) => JSON.parse((await runCli(['monitor', 'attributions', 'breast', '--since', String(since), '--until', String(until), '--json'], env)).stdout) as AttributionSummary;
      const [earlier, later] = [await summary(now - 2 * HOUR, now - HOUR), await summary(now - HOUR, now + 1)];
      assert.deepEqual([earlier.rows, later.rows], [rows, rows]);
      const shift = attributionShift(earlier, later);
      assert.ok(shift.distance > 0.01, `the shares moved: ${shift.distance}`);
      assert.equal(shift.feature, top);

      const rule = (threshold: number): AlertRule => ({ name: `attr-${threshold}`, model: 'breast', kind: 'attribution-drift', threshold, window: '1h', webhooks: [], enabled: true, createdAt: new Date().toISOString() });
      const engine = new AlertEngine(app, { now: () => now + 1 });
      const firing = await engine.evaluate(rule(shift.distance / 2));
      assert.equal(firing.state, 'firing', firing.message);
      assert.ok(Math.abs(firing.value! - shift.distance) <= 1e-12, `${firing.value} vs ${shift.distance}`);
      assert.match(firing.message, new RegExp(`most moved: ${top}`));
      const ok = await engine.evaluate(rule(Math.min(0.99, shift.distance * 2)));
      assert.equal(ok.state, 'ok', ok.message);
      const early = await new AlertEngine(app, { now: () => now - HOUR }).evaluate(rule(0.1));
      assert.equal(early.state, 'unknown', 'nothing explained in the window before the first run');
    } finally {
      await app.close();
    }
    const add = await runCli(['alerts', 'add', 'breast-attr', '--model', 'breast', '--kind', 'attribution-drift', '--window', '1h'], env);
    assert.equal(add.code, 0, add.stderr);
    const list = await runCli(['alerts', 'list'], env);
    assert.match(list.stdout, /attribution shares moved > 0\.2/);
  });

  it('serve: explained requests are logged; /ferry/v1 attributions and Prometheus gauges', async () => {
    const home = { FERRY_HOME: join(tmp.dir, 'serve-home') };
    assert.equal((await runCli(['register', join(DIR, 'model.json'), '--name', 'breast'], home)).code, 0);
    const server = await startServe(home, ['--log-predictions']);
    try {
      const data = Array.from(x, (v) => (Number.isNaN(v) ? null : v));
      const r = await postJson(`${server.url}/v2/models/breast/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, F], data }], parameters: { explain: true } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const plain = await postJson(`${server.url}/v2/models/breast/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, F], data }] });
      assert.equal(plain.status, 200);
      let summary: AttributionSummary | undefined;
      for (let i = 0; i < 50 && (summary?.rows ?? 0) < rows; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        summary = await (await fetch(`${server.url}/ferry/v1/models/breast/attributions?window=1h`)).json() as AttributionSummary;
      }
      assert.equal(summary?.rows, rows, 'only the explained request counts');
      // The same rows as the batch run of the first test: the same means.
      for (const f of summary.features) {
        const want = first.features.find((g) => g.feature === f.feature)!.mean_abs;
        assert.ok(Math.abs(f.mean_abs - want) <= 1e-9 * Math.max(1, want), `${f.feature}: ${f.mean_abs} vs ${want}`);
      }
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`ferry_attribution_share\\{model="breast",feature="${summary.features[0]!.feature}"\\} `));
      assert.match(metrics, /ferry_attribution_rows\{model="breast"\} 20/);
    } finally {
      await server.stop();
    }
  });

  it('log: {explain: 0.5}: every other request is explained for the log only; its answer is unchanged', async () => {
    const home = { FERRY_HOME: join(tmp.dir, 'sampled-home') };
    assert.equal((await runCli(['register', join(DIR, 'model.json'), '--name', 'breast'], home)).code, 0);
    const config = join(tmp.dir, 'sampled.yaml');
    writeFileSync(config, 'defaults:\n  log: { sample: 1, explain: 0.5 }\n');
    const server = await startServe(home, ['--config', config]);
    try {
      for (let r = 0; r < 4; r++) {
        const data = Array.from(x.subarray(r * F, (r + 1) * F), (v) => (Number.isNaN(v) ? null : v));
        const res = await postJson(`${server.url}/v2/models/breast/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, F], data }] });
        assert.equal(res.status, 200);
        assert.ok(!(res.body as { outputs: { name: string }[] }).outputs.some((o) => o.name === 'contributions'), 'no explanation in the answer');
      }
      let summary: AttributionSummary | undefined;
      let logged = 0;
      // The log and its explanations are written after the answers: wait for both (the rows count must not pass 2).
      for (let i = 0; i < 50 && (logged < 4 || (summary?.rows ?? 0) < 2); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const m = await runCli(['monitor', 'log', 'breast', '--json'], home);
        logged = (JSON.parse(m.stdout) as unknown[]).length;
        summary = await (await fetch(`${server.url}/ferry/v1/models/breast/attributions?window=1h`)).json() as AttributionSummary;
      }
      assert.equal(logged, 4, 'every request is logged');
      assert.equal(summary?.rows, 2, 'every other one with its explanation');
    } finally {
      await server.stop();
    }
  });
});
