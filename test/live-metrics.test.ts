/**
 * Live metrics over the prediction log equal scikit-learn's on the committed reference
 * (fixtures/monitoring/live-metrics.json, scripts/monitoring/live_metrics_reference.py):
 * binary, three-class with string labels, regression; with label coverage; on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { attachFeedback } from '../src/monitoring/feedback.js';
import { liveMetrics } from '../src/monitoring/live-metrics.js';
import { insertPredictions } from '../src/monitoring/prediction-log-store.js';
import { pgSchema, ROOT, tempDir } from './helpers/env.js';

interface Case {
  outputs: Record<string, unknown>[];
  actual: unknown[];
  expected: Record<string, number>;
  per_class?: Record<string, { precision: number; recall: number; f1: number; support: number }>;
}
const reference = JSON.parse(readFileSync(join(ROOT, 'fixtures/monitoring/live-metrics.json'), 'utf8')) as { cases: Record<string, Case> };

const stores: Record<string, () => Promise<{ app: Ferry; cleanup(): Promise<void> }>> = {
  sqlite: async () => {
    const home = tempDir('ferry-live-');
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
    return { app, cleanup: async () => { await app.close(); home.cleanup(); } };
  },
  postgres: async () => {
    const home = tempDir('ferry-live-');
    const schema = await pgSchema('ferry_live');
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir, FERRY_DATABASE_URL: schema.url }));
    return { app, cleanup: async () => { await app.close(); await schema.cleanup(); home.cleanup(); } };
  },
};

const T0 = Date.UTC(2026, 10, 20);

for (const [name, open] of Object.entries(stores)) {
  describe(`live metrics on ${name}`, () => {
    let env: { app: Ferry; cleanup(): Promise<void> };
    before(async () => {
      env = await open();
      for (const [model, c] of Object.entries(reference.cases)) {
        // Every case logs 10 extra predictions that never get ground truth (coverage < 1).
        const outputs = [...c.outputs, ...c.outputs.slice(0, 10)];
        await insertPredictions(env.app.database, outputs.map((o, i) => ({
          id: `${model}-${i}`, model, version: 1, at: T0 + i * 1000, source: 'oip-rest',
          inputs: '{}', outputs: JSON.stringify(o), latencyMs: 1, confidence: null, lowConfidence: false,
        })));
        const r = await attachFeedback(env.app.database, c.actual.map((actual, i) => ({ predictionId: `${model}-${i}`, actual })));
        assert.equal(r.attached, c.actual.length);
      }
    });
    after(() => env.cleanup());

    for (const [model, c] of Object.entries(reference.cases)) {
      it(`${model}: every metric equals scikit-learn's, with coverage`, async () => {
        const m = await liveMetrics(env.app.database, { model });
        assert.equal(m.total, c.outputs.length + 10);
        assert.equal(m.labelled, c.outputs.length);
        assert.equal(m.coverage, c.outputs.length / (c.outputs.length + 10));
        assert.equal(m.task, model === 'regression' ? 'regression' : 'classification');
        for (const [metric, want] of Object.entries(c.expected)) {
          const got = m.metrics[metric];
          assert.ok(typeof got === 'number' && Math.abs(got - want) < 1e-9, `${metric}: ${got} vs scikit-learn ${want}`);
        }
        for (const [cls, want] of Object.entries(c.per_class ?? {})) {
          const got = m.perClass?.[cls];
          assert.ok(got, `class ${cls}`);
          for (const k of ['precision', 'recall', 'f1', 'support'] as const) assert.ok(Math.abs(got[k] - want[k]) < 1e-9, `${cls} ${k}: ${got[k]} vs ${want[k]}`);
        }
      });
    }

    it('windows select predictions by time; an unlabelled window has coverage 0 and no metrics', async () => {
      const m = await liveMetrics(env.app.database, { model: 'binary', since: T0 + 60_000 });
      assert.equal(m.total, 10);
      assert.equal(m.labelled, 0);
      assert.equal(m.coverage, 0);
      assert.deepEqual(m.metrics, {});
      const first = await liveMetrics(env.app.database, { model: 'binary', until: T0 + 10_000 });
      assert.equal(first.total, 10);
      assert.equal(first.labelled, 10);
      const none = await liveMetrics(env.app.database, { model: 'nothing-logged' });
      assert.deepEqual([none.total, none.coverage, none.task], [0, 0, 'unknown']);
    });
  });
}
