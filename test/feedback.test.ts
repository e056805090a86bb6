/**
 * Ground truth from files and the monitoring CLI, through the CLI (in process) on SQLite
 * and PostgreSQL: `ferry feedback --file` (CSV, JSONL; unknown ids reported, bad rows
 * rejected, the rest attached), `ferry monitor metrics`, `ferry monitor log`, `ferry monitor prune`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { parseFeedback } from '../src/monitoring/feedback.js';
import { insertPredictions } from '../src/monitoring/prediction-log-store.js';
import { runCli } from './helpers/cli.js';
import { pgSchema, tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

const bc = fixture('breast_mlp');

describe('parseFeedback', () => {
  it('keeps well-formed items and rejects the rest with a reason', () => {
    const { items, rejected } = parseFeedback([
      { prediction_id: 'a', actual: 1 }, { prediction_id: ' b ', actual: 'cat' }, { prediction_id: 'c', actual: null },
      'x', { actual: 1 }, { prediction_id: 'd' }, { prediction_id: 'e', actual: '' }, { prediction_id: 'f', actual: Number.NaN },
    ]);
    assert.deepEqual(items, [{ predictionId: 'a', actual: 1 }, { predictionId: 'b', actual: 'cat' }, { predictionId: 'c', actual: null }]);
    assert.deepEqual(rejected.map((r) => r.index), [3, 4, 5, 6, 7]);
    assert.match(rejected[2]?.reason ?? '', /"actual" is missing for prediction d/);
  });
});

const stores: Record<string, () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>> = {
  sqlite: () => {
    const home = tempDir('ferry-fb-');
    return Promise.resolve({ env: { FERRY_HOME: home.dir }, cleanup: () => Promise.resolve(home.cleanup()) });
  },
  postgres: async () => {
    const home = tempDir('ferry-fb-');
    const schema = await pgSchema('ferry_fb');
    return { env: { FERRY_HOME: home.dir, FERRY_DATABASE_URL: schema.url }, cleanup: async () => { await schema.cleanup(); home.cleanup(); } };
  },
};

const NOW = Date.now();

for (const [name, open] of Object.entries(stores)) {
  describe(`ferry feedback and ferry monitor (${name})`, () => {
    let store: { env: Record<string, string>; cleanup(): Promise<void> };
    const tmp = tempDir('ferry-fb-files-');
    before(async () => {
      store = await open();
      const r = await runCli(['register', bc.model, '--name', 'bc'], store.env);
      assert.equal(r.code, 0, r.stderr);
      const app = await openFerry(loadConfig(store.env));
      try {
        // Six logged predictions of bc:1 in the last hour; p0 and p1 are older (for prune).
        await insertPredictions(app.database, Array.from({ length: 8 }, (_, i) => ({
          id: `p${i}`, model: 'bc', version: 1, at: i < 2 ? NOW - 40 * 86_400_000 : NOW - (8 - i) * 60_000, source: 'batch',
          inputs: JSON.stringify({ a: i }), outputs: JSON.stringify({ label: i % 2, probabilities: i % 2 ? [0.2, 0.8] : [0.9, 0.1] }),
          latencyMs: 1, confidence: i % 2 ? 0.8 : 0.9, lowConfidence: i % 2 === 1,
        })));
      } finally {
        await app.close();
      }
    });
    after(async () => {
      await store.cleanup();
      tmp.cleanup();
    });

    it('attaches actual values from CSV, reports unknown ids and rejects rows without a value', async () => {
      const csv = join(tmp.dir, 'truth.csv');
      // p2..p5 labelled as predicted except p5; p6 has no value; "zz" is not in the log.
      writeFileSync(csv, 'prediction_id,actual\np2,0\np3,1\np4,0\np5,0\np6,\nzz,1\n');
      const r = await runCli(['feedback', '--file', csv, '--json'], store.env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { attached: 4, unknown: ['zz'], rejected: [{ row: 5, reason: '"actual" is missing for prediction p6' }] });
      const text = await runCli(['feedback', '--file', csv], store.env);
      assert.match(text.stdout, /Attached ground truth to 4 logged prediction\(s\)\.\n1 prediction id\(s\) are not in the log .*: zz/);
    });

    it('reads JSONL with other column names', async () => {
      const jsonl = join(tmp.dir, 'truth.jsonl');
      writeFileSync(jsonl, '{"pid":"p7","label":1}\n');
      const r = await runCli(['feedback', '--file', jsonl, '--id-column', 'pid', '--actual-column', 'label', '--json'], store.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { attached: number }).attached, 1);
      const missing = await runCli(['feedback', '--file', jsonl], store.env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no column named by --id-column prediction_id; its columns are pid, label/);
    });

    it('ferry monitor metrics: live metrics with coverage over a window', async () => {
      const r = await runCli(['monitor', 'metrics', 'bc', '--window', '1h', '--json'], store.env);
      assert.equal(r.code, 0, r.stderr);
      const m = JSON.parse(r.stdout) as { total: number; labelled: number; coverage: number; lowConfidence: number; task: string; metrics: Record<string, number> };
      assert.deepEqual([m.total, m.labelled, m.coverage, m.lowConfidence, m.task], [6, 5, 5 / 6, 3, 'classification']);
      assert.equal(m.metrics.accuracy, 4 / 5);
      const v2 = await runCli(['monitor', 'metrics', 'bc:2', '--json'], store.env);
      assert.equal(v2.code, 3, 'bc has no version 2');
      const table = await runCli(['monitor', 'metrics', 'bc@champion'], store.env);
      assert.equal(table.code, 3);
      const human = await runCli(['monitor', 'metrics', 'bc:1', '--since', '2h'], store.env);
      assert.match(human.stdout, /predictions 6 · labelled 5 \(coverage 83\.3%\)/);
      assert.match(human.stdout, /accuracy\s+0\.8000/);
    });

    it('ferry monitor log: newest predictions, filters, JSON', async () => {
      const r = await runCli(['monitor', 'log', 'bc', '--last', '3', '--json'], store.env);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { id: string; actual?: unknown; at: string }[];
      assert.deepEqual(rows.map((p) => p.id), ['p5', 'p6', 'p7']);
      assert.deepEqual(rows.map((p) => p.actual), [0, undefined, 1]);
      const low = JSON.parse((await runCli(['monitor', 'log', 'bc', '--low-confidence', '--json', '--window', '1h'], store.env)).stdout) as { id: string }[];
      assert.deepEqual(low.map((p) => p.id), ['p3', 'p5', 'p7']);
      const unlabelled = JSON.parse((await runCli(['monitor', 'log', 'bc', '--unlabelled', '--json', '--limit', '100'], store.env)).stdout) as { id: string }[];
      assert.deepEqual(unlabelled.map((p) => p.id), ['p0', 'p1', 'p6']);
      const human = await runCli(['monitor', 'log', 'bc', '--last', '1'], store.env);
      assert.match(human.stdout, /^ID\s+VERSION\s+AT/);
      assert.match(human.stdout, /p7\s+1\s/);
      const bad = await runCli(['monitor', 'log', 'bc', '--window', 'yesterday'], store.env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--window is not valid: "yesterday" must be a number with a unit/);
    });

    it('ferry monitor prune deletes predictions older than the given age', async () => {
      const r = await runCli(['monitor', 'prune', '--older-than', '30d', '--json'], store.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { deleted: number }).deleted, 2);
    });
  });
}
