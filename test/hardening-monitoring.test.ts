/**
 * Regression tests for monitoring reads inside the server (issue #18, finding 15): drift and
 * live-metric endpoints accepted unbounded windows and read the whole window on the event loop
 * in one go. Now they read at most `monitoring_max_rows` (the newest of the window), refuse a
 * larger `last`, and give the event loop a turn between pages.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { driftReport, readLogWindow } from '../src/monitoring/drift-run.js';
import { readFrame } from '../src/data/readers.js';
import { storeReference } from '../src/monitoring/profile-store.js';
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

describe('drift in a server runs in the drift thread', () => {
  let srv: InProcess;
  before(async () => {
    const f = fixture('breast_mlp');
    srv = await startInProcess({ register: [{ path: f.model, name: 'd' }, { path: f.model, name: 'none' }] });
    const frame = await readFrame(f.input);
    for (const name of ['d', 'none']) await storeReference(srv.app, await srv.app.registry.resolve(name), frame, 'input.csv', ['id'], 'test');
    const columns = frame.columns.filter((n) => n !== 'id');
    const now = Date.now();
    // d: rows logged as the server logs a tensor row (packed float32), the second half shifted.
    const d: PredictionRow[] = Array.from({ length: 3000 }, (_, i) => {
      const values = columns.map((c) => Number(frame.column(c)![i % frame.length]) * (i >= 1500 ? 1.5 : 1));
      return {
        id: randomUUID(), model: 'd', version: 1, at: now - 3000 + i, source: 'oip-rest', latencyMs: 1, confidence: null, lowConfidence: false,
        inputs: JSON.stringify({ '@input': `float32:${Buffer.from(Float32Array.from(values).buffer).toString('base64')}` }), outputs: JSON.stringify({ label: i % 2 }),
      };
    });
    // none: logged inputs hold none of the reference columns.
    const none: PredictionRow[] = Array.from({ length: 10 }, (_, i) => ({
      id: randomUUID(), model: 'none', version: 1, at: now - 10 + i, source: 'oip-rest', latencyMs: 1, confidence: null, lowConfidence: false,
      inputs: JSON.stringify({ other: i }), outputs: JSON.stringify({ label: 0 }),
    }));
    await insertPredictions(srv.app.database, [...d, ...none]);
  });
  after(() => srv.cleanup());

  it('gives the same report as the tests run on the event loop, capped the same way', async () => {
    const version = await srv.app.registry.resolve('d');
    for (const [last, maxRows] of [[3000, undefined], [undefined, 2000]] as const) {
      const onLoop = await driftReport(srv.app, version, { kind: 'log', sinceMs: 0, last, maxRows });
      const offLoop = await driftReport(srv.app, version, { kind: 'log', sinceMs: 0, last, maxRows, offThread: true });
      assert.deepEqual(offLoop, onLoop);
      assert.equal(onLoop.currentRows, maxRows ?? last);
      assert.equal(onLoop.capped, maxRows === undefined ? undefined : true);
    }
    const res = await fetch(`${srv.url}/ferry/v1/models/d/drift?last=3000`);
    assert.equal(res.status, 200);
    const body = await res.json() as { current_rows: number; features: { name: string; statistic: number }[] };
    const onLoop = await driftReport(srv.app, version, { kind: 'log', sinceMs: 0, last: 3000 });
    assert.equal(body.current_rows, 3000);
    assert.deepEqual(body.features.map((f) => [f.name, f.statistic]), onLoop.features.features.map((f) => [f.name, f.statistic]));
  });

  it('an error in the thread reaches the client with its code; the thread keeps serving', async () => {
    const res = await fetch(`${srv.url}/ferry/v1/models/none/drift?last=10`);
    const body = await res.json() as { code: string; error: string };
    assert.equal(body.code, 'FERRY_E_DRIFT_NO_DATA');
    assert.match(body.error, /none of the reference columns/);
    assert.equal((await fetch(`${srv.url}/ferry/v1/models/d/drift?last=100`)).status, 200);
  });
});
