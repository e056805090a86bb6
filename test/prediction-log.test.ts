/** The prediction log's storage and read API, on SQLite and on PostgreSQL. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openFerry, type Ferry } from '../src/app.js';
import { loadConfig } from '../src/core/config.js';
import { countPredictions, deletePredictionsBefore, getPrediction, insertPredictions, listPredictions, readPredictionChunks, type PredictionRow } from '../src/monitoring/prediction-log.js';
import { pgSchema, tempDir } from './helpers/env.js';

interface Store { app: Ferry; cleanup(): Promise<void> }

const stores: Record<string, () => Promise<Store>> = {
  sqlite: async () => {
    const home = tempDir('ferry-plog-');
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
    return { app, cleanup: async () => { await app.close(); home.cleanup(); } };
  },
  postgres: async () => {
    const home = tempDir('ferry-plog-');
    const schema = await pgSchema('ferry_plog');
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir, FERRY_DATABASE_URL: schema.url }));
    return { app, cleanup: async () => { await app.close(); await schema.cleanup(); home.cleanup(); } };
  },
};

const T0 = Date.UTC(2026, 10, 1);

function row(i: number, over: Partial<PredictionRow> = {}): PredictionRow {
  return {
    id: `p${String(i).padStart(5, '0')}`,
    model: 'm',
    version: i % 2 === 0 ? 1 : 2,
    at: T0 + Math.floor(i / 3) * 1000, // three rows share each timestamp: ties are ordered by id
    source: 'oip-rest',
    inputs: JSON.stringify({ a: i, b: `c${i % 3}` }),
    outputs: JSON.stringify({ label: i % 2, probabilities: [0.25, 0.75] }),
    latencyMs: 0.5,
    confidence: i % 5 === 0 ? 0.55 : 0.9,
    lowConfidence: i % 5 === 0,
    ...over,
  };
}

for (const [name, open] of Object.entries(stores)) {
  describe(`prediction log on ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
      await insertPredictions(store.app.database, Array.from({ length: 1000 }, (_, i) => row(i)));
      await insertPredictions(store.app.database, [row(0, { id: 'other-1', model: 'other' })]);
    });
    after(() => store.cleanup());

    it('reads every row of a model oldest first, in chunks, with inputs and outputs decoded', async () => {
      const chunks: number[] = [];
      const ids: string[] = [];
      for await (const chunk of readPredictionChunks(store.app.database, { model: 'm' }, { chunkSize: 300 })) {
        chunks.push(chunk.length);
        ids.push(...chunk.map((p) => p.id));
      }
      assert.deepEqual(chunks, [300, 300, 300, 100]);
      assert.equal(new Set(ids).size, 1000);
      assert.deepEqual(ids, [...ids].sort());
      const [first] = await listPredictions(store.app.database, { model: 'm', last: 1 });
      assert.ok(first);
      assert.equal(first.id, 'p00999');
      assert.deepEqual(first.inputs, { a: 999, b: 'c0' });
      assert.deepEqual(first.outputs, { label: 1, probabilities: [0.25, 0.75] });
      assert.equal(first.version, 2);
      assert.equal(first.at, T0 + 333_000);
      assert.equal(first.actual, undefined);
    });

    it('filters by version, time window, newest N and low confidence', async () => {
      const db = store.app.database;
      assert.equal((await listPredictions(db, { model: 'm', version: 1 })).length, 500);
      const window = await listPredictions(db, { model: 'm', since: T0 + 10_000, until: new Date(T0 + 20_000) });
      assert.deepEqual(window.map((p) => p.id), Array.from({ length: 30 }, (_, i) => `p${String(30 + i).padStart(5, '0')}`));
      const last = await listPredictions(db, { model: 'm', last: 10 }, { chunkSize: 4 });
      assert.deepEqual(last.map((p) => p.id), Array.from({ length: 10 }, (_, i) => `p${String(990 + i).padStart(5, '0')}`));
      assert.equal((await listPredictions(db, { model: 'm', last: 5000 })).length, 1000);
      assert.equal((await listPredictions(db, { model: 'm', last: 0 })).length, 0);
      const low = await listPredictions(db, { model: 'm', lowConfidence: true }, { inputs: false });
      assert.equal(low.length, 200);
      assert.ok(low.every((p) => p.lowConfidence && p.confidence === 0.55));
      assert.deepEqual(low[0]?.inputs, {});
      assert.deepEqual(await countPredictions(db, { model: 'm' }), { total: 1000, labelled: 0, lowConfidence: 200 });
      assert.deepEqual(await countPredictions(db, { model: 'm', last: 10 }), { total: 10, labelled: 0, lowConfidence: 2 });
      assert.equal((await getPrediction(db, 'other-1'))?.model, 'other');
      assert.equal(await getPrediction(db, 'nope'), undefined);
    });

    it('deletes rows older than a cutoff (retention)', async () => {
      const db = store.app.database;
      assert.equal(await deletePredictionsBefore(db, T0 + 1000), 4); // m: p0..p2, other-1
      assert.equal((await countPredictions(db, { model: 'm' })).total, 997);
    });
  });
}
