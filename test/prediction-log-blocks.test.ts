/** The prediction log's blocks on SQLite (log-block.ts): what goes in them, how they split, move out and go. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from '../src/vendor/kysely.js';
import { openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import type { ModelSignature } from '../src/core/signature.js';
import type { Tensor } from '../src/core/tensor.js';
import { DecodedBlock, idMs, idPrefix, MAX_BLOCK_SPAN_MS } from '../src/monitoring/log-block.js';
import { attachFeedback } from '../src/monitoring/feedback.js';
import { countPredictions, deletePredictionsBefore, getPrediction, listPredictions } from '../src/monitoring/prediction-log-store.js';
import { PredictionLogWriter, predictionIds, type PredictionEntry } from '../src/monitoring/prediction-log-writer.js';
import { tempDir } from './helpers/env.js';

const signature = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }, { name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
} as unknown as ModelSignature;

const tensor = (dtype: string, shape: number[], data: ArrayLike<number | bigint>) => ({ dtype, shape, data }) as unknown as Tensor;

/** One request of `rows` rows, row k's features (seed + k, 2·(seed + k), 0.5), scored at `at`. */
function request(seed: number, rows: number, at: number, source = 'oip-rest'): PredictionEntry {
  const x = new Float32Array(3 * rows);
  const p = new Float32Array(2 * rows);
  const label = new BigInt64Array(rows);
  for (let k = 0; k < rows; k++) {
    x.set([seed + k, 2 * (seed + k), 0.5], 3 * k);
    const q = (seed + k) % 4 === 0 ? 0.5 : 0.75; // every 4th row below min confidence 0.6
    p.set([1 - q, q], 2 * k);
    label[k] = 1n;
  }
  return {
    model: 'blk', version: 1, signature, source, rows, at,
    inputs: { kind: 'tensors', tensors: { x: tensor('float32', [rows, 3], x) } },
    outputs: { kind: 'tensors', tensors: { label: tensor('int64', [rows], label), probabilities: tensor('float32', [rows, 2], p) } },
    latencyMs: 0.25,
  };
}

const T0 = Date.UTC(2026, 11, 1);

describe('prediction log blocks (SQLite)', () => {
  let app: Ferry;
  let home: ReturnType<typeof tempDir>;
  const ids: string[] = [];
  const times = new Map<string, number>();

  before(async () => {
    home = tempDir('ferry-blocks-');
    app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
    const writer = new PredictionLogWriter(app.database, { policy: () => ({ sample: 1, confidence: { min: 0.6, respond: false } }), flushIntervalMs: 60_000 });
    // One batch whose rows span 150 s (three blocks), then a second batch from another source.
    for (let i = 0; i < 30; i++) {
      const at = T0 + i * 5_000;
      const got = writer.log(request(i * 10, 1 + (i % 3), at)) ?? [];
      for (const id of got) times.set(id, at);
      ids.push(...got);
    }
    await writer.flush();
    for (let i = 30; i < 40; i++) {
      const at = T0 + i * 5_000;
      const got = writer.log(request(i * 10, 2, at, 'oip-grpc')) ?? [];
      for (const id of got) times.set(id, at);
      ids.push(...got);
    }
    await writer.close();
  });
  after(async () => {
    await app.close();
    home.cleanup();
  });

  const k = () => app.database.kysely.withTables<{ prediction_block: { seq: number; rows: number; first_at: number; last_at: number; dead_rows: number; data: Buffer; dead: Buffer | null }; prediction_log: { id: string; model_name: string } }>();

  it('stores numeric tensor rows in blocks, none in the table, each block spanning at most a minute', async () => {
    const blocks = await k().selectFrom('prediction_block').select(['rows', 'first_at', 'last_at']).orderBy('first_at').execute();
    const table = await k().selectFrom('prediction_log').select('id').where('model_name', '=', 'blk').execute();
    assert.equal(table.length, 0);
    assert.equal(blocks.reduce((n, b) => n + Number(b.rows), 0), ids.length);
    assert.ok(blocks.length >= 4, `the 150-second batch is split (${blocks.length} blocks)`);
    for (const b of blocks) assert.ok(Number(b.last_at) - Number(b.first_at) <= MAX_BLOCK_SPAN_MS, `block spans ${Number(b.last_at) - Number(b.first_at)} ms`);
  });

  it('reads every row back, oldest first, with its values', async () => {
    const rows = await listPredictions(app.database, { model: 'blk' });
    assert.deepEqual(rows.map((r) => r.id), ids, 'logging order is (at, id) order here');
    const third = rows.find((r) => r.id === ids[2]);
    // ids[2] is request 1's (seed 10, 2 rows) second row; no registered version names the columns.
    assert.deepEqual(third?.inputs, { x: [11, 22, 0.5] });
    assert.deepEqual(third?.outputs, { label: 1, probabilities: [0.25, 0.75] });
    assert.equal(third?.source, 'oip-rest');
    assert.equal(rows.at(-1)?.source, 'oip-grpc');
    assert.equal(third?.at, T0 + 5_000);
    assert.equal(third?.latencyMs, 0.25);
    const low = rows.filter((r) => r.lowConfidence);
    assert.deepEqual(low.map((r) => r.confidence), low.map(() => 0.5));
    assert.equal((await countPredictions(app.database, { model: 'blk', lowConfidence: true })).total, low.length);
  });

  it('counts rows in windows that cut through blocks', async () => {
    for (const [since, until] of [[T0 + 12_000, T0 + 77_000], [T0, T0 + 5_000], [T0 + 149_999, T0 + 400_000]] as const) {
      const listed = await listPredictions(app.database, { model: 'blk', since, until }, { inputs: false, outputs: false });
      const expected = ids.filter((id) => times.get(id)! >= since && times.get(id)! < until);
      assert.deepEqual(listed.map((r) => r.id), expected);
      const counted = await countPredictions(app.database, { model: 'blk', since, until });
      assert.equal(counted.total, expected.length);
      assert.equal(counted.lowConfidence, listed.filter((r) => r.lowConfidence).length);
    }
  });

  it('finds rows by id; an id that looks generated but is not logged is not found', async () => {
    for (const id of [ids[0]!, ids[17]!, ids.at(-1)!]) assert.equal((await getPrediction(app.database, id))?.id, id);
    assert.equal(await getPrediction(app.database, predictionIds(1)[0]!), undefined);
    assert.equal(idPrefix(idMs(ids[0]!)), ids[0]!.slice(0, 13));
  });

  it('feedback moves a row out of its block into the table: read once, labelled, counted once', async () => {
    const target = ids[5]!;
    const before = await countPredictions(app.database, { model: 'blk' });
    const result = await attachFeedback(app.database, [{ predictionId: target, actual: 1 }, { predictionId: ids[6]!, actual: null }], T0 + 1_000_000);
    assert.deepEqual(result, { attached: 2, unknown: [] });
    const after = await countPredictions(app.database, { model: 'blk' });
    assert.deepEqual(after, { total: before.total, labelled: 1, lowConfidence: before.lowConfidence });
    const rows = await listPredictions(app.database, { model: 'blk' });
    assert.equal(rows.filter((r) => r.id === target).length, 1);
    assert.deepEqual(rows.map((r) => r.id), ids, 'still in (at, id) order');
    const labelled = await listPredictions(app.database, { model: 'blk', labelled: true });
    assert.deepEqual(labelled.map((r) => [r.id, r.actual, r.actualAt]), [[target, 1, T0 + 1_000_000]]);
    assert.deepEqual(labelled[0]?.inputs, rows.find((r) => r.id === target)?.inputs);
    const table = await k().selectFrom('prediction_log').select('id').where('model_name', '=', 'blk').execute();
    assert.deepEqual(table.map((r) => r.id), [target]);
    // A second label for the moved row updates it in the table.
    assert.deepEqual(await attachFeedback(app.database, [{ predictionId: target, actual: 0 }]), { attached: 1, unknown: [] });
    assert.equal((await getPrediction(app.database, target))?.actual, 0);
    const dead = await k().selectFrom('prediction_block').select(['dead_rows', 'dead', 'data', 'rows']).where('dead_rows', '>', 0).execute();
    assert.equal(dead.length, 1);
    assert.equal(new DecodedBlock(dead[0]!.data, dead[0]!.dead, 8 * 2 + 8 + 8).rows, Number(dead[0]!.rows));
  });

  it('retention drops whole blocks whose rows are all older', async () => {
    const cut = T0 + 100_000;
    const blocksBefore = await k().selectFrom('prediction_block').select(['last_at', 'rows', 'dead_rows']).execute();
    const gone = blocksBefore.filter((b) => Number(b.last_at) < cut).reduce((n, b) => n + Number(b.rows) - Number(b.dead_rows), 0);
    const removedFromTable = (await listPredictions(app.database, { model: 'blk', labelled: true, until: cut })).length;
    assert.equal(await deletePredictionsBefore(app.database, cut), gone + removedFromTable);
    const left = await listPredictions(app.database, { model: 'blk' }, { inputs: false, outputs: false });
    assert.ok(left.every((r) => r.at >= cut - MAX_BLOCK_SPAN_MS));
    assert.deepEqual(left.filter((r) => r.at >= cut).map((r) => r.id), ids.filter((id) => times.get(id)! >= cut));
    assert.equal((await countPredictions(app.database, { model: 'blk' })).total, left.length);
  });

  it('a damaged block is reported with a catalog code, not a crash', async () => {
    await sql`update prediction_block set data = x'00' where seq = (select max(seq) from prediction_block)`.execute(app.database.kysely);
    await assert.rejects(listPredictions(app.database, { model: 'blk' }), (err: Error & { code?: string }) => err.code === 'FERRY_E_INTERNAL' && /damaged|unknown format/.test(err.message));
  });
});
