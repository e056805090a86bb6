/**
 * Regression tests for monitoring reads inside the server (issue #18, finding 15): drift and
 * live-metric endpoints accepted unbounded windows and read the whole window on the event loop
 * in one go. Now they read at most `monitoring_max_rows` (the newest of the window), refuse a
 * larger `last`, and give the event loop a turn between pages.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readLogWindow } from '../src/monitoring/drift-run.js';
import { liveMetrics } from '../src/monitoring/live-metrics.js';
import { insertPredictions, readPredictionChunks, type PredictionRow } from '../src/monitoring/prediction-log-store.js';
import { fixture } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

const ROWS = 12_000;

describe('monitoring reads are bounded and share the event loop', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: fixture('breast_mlp').model, name: 'bc' }], serve: { monitoring_max_rows: 10_000 } });
    const now = Date.now();
    const rows: PredictionRow[] = Array.from({ length: ROWS }, (_, i) => ({
      id: randomUUID(), model: 'bc', version: 1, at: now - ROWS + i, source: 'oip-rest',
      inputs: JSON.stringify({ x: i }), outputs: JSON.stringify({ label: i % 2 }), latencyMs: 1, confidence: null, lowConfidence: false,
    }));
    await insertPredictions(srv.app.database, rows);
  });
  after(() => srv.cleanup());

  it('the metrics endpoint reads at most monitoring_max_rows, says so, and refuses a larger last', async () => {
    const res = await fetch(`${srv.url}/ferry/v1/models/bc/metrics?window=1d`);
    assert.equal(res.status, 200);
    const body = await res.json() as { total: number; capped?: boolean };
    assert.equal(body.total, 10_000);
    assert.equal(body.capped, true);
    const small = await (await fetch(`${srv.url}/ferry/v1/models/bc/metrics?last=50`)).json() as { total: number; capped?: boolean };
    assert.equal(small.total, 50);
    assert.equal(small.capped, undefined);
    const over = await fetch(`${srv.url}/ferry/v1/models/bc/metrics?last=10001`);
    assert.equal(over.status, 413);
    assert.equal((await over.json() as { code: string }).code, 'FERRY_E_REQUEST_LIMIT');
  });

  it('a drift window reads the newest rows, at most the cap', async () => {
    const capped = await readLogWindow(srv.app, 'bc', 1, 0, undefined, 10_000);
    assert.equal(capped.rows.length, 10_000);
    assert.equal(capped.capped, true);
    assert.deepEqual(capped.rows[0]?.inputs, { x: ROWS - 1 }, 'newest first');
    const all = await readLogWindow(srv.app, 'bc', 1, 0, undefined);
    assert.equal(all.rows.length, ROWS);
    assert.equal(all.capped, false);
    await assert.rejects(readLogWindow(srv.app, 'bc', 1, 0, 10_001, 10_000), /FERRY_E_REQUEST_LIMIT|more than the limit/);
  });

  it('reads give the event loop a turn between pages (a request is served in the middle of a long read)', async () => {
    for (const read of [
      async () => { for await (const chunk of readPredictionChunks(srv.app.database, { model: 'bc' }, { chunkSize: 1000 })) void chunk; },
      () => readLogWindow(srv.app, 'bc', 1, 0, undefined),
      () => liveMetrics(srv.app.database, { model: 'bc' }),
    ]) {
      let turns = 0;
      let done = false;
      const tick = () => { if (!done) { turns++; setImmediate(tick); } };
      setImmediate(tick);
      await read();
      done = true;
      assert.ok(turns >= 2, `the event loop turned ${turns} time(s) during the read`);
    }
  });
});
