/** The prediction log's storage and read API, on SQLite and on PostgreSQL. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { Registry } from 'prom-client';
import { after, before, describe, it } from 'node:test';
import { openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { countPredictions, deletePredictionsBefore, getPrediction, insertPredictions, listPredictions, readPredictionChunks, type PredictionRow } from '../src/monitoring/prediction-log-store.js';
import { RowEncoder } from '../src/monitoring/log-encode.js';
import { scanLog, type StoredRow } from '../src/monitoring/log-scan.js';
import type { Tensor } from '../src/core/tensor.js';
import { frameEntry, PredictionLogWriter, predictionIds, type PredictionEntry } from '../src/monitoring/prediction-log-writer.js';
import { ColumnFrame } from '../src/core/frame.js';
import type { ModelVersion } from '../src/registry/types.js';
import type { ModelSignature } from '../src/core/signature.js';
import { pgSchema, tempDir } from './helpers/env.js';
import { applyFeedback } from '../src/monitoring/feedback.js';
import { LiveMetricGauges } from '../src/monitoring/live-metrics-gauges.js';

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

const SIGNATURE: ModelSignature = {
  inputs: [
    { name: 'x', dtype: 'float32', shape: [-1, 2], columns: ['a', 'b'] },
    { name: 'tag', dtype: 'string', shape: [-1, 1] },
  ],
  outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }, { name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
};

/** A scored request of `n` rows, as the server hands it to the logger. */
function entry(n: number, model = 'w'): PredictionEntry {
  return {
    model, version: 3, signature: SIGNATURE, source: 'batch', rows: n, latencyMs: 2,
    inputs: { kind: 'tensors', tensors: {
      x: { dtype: 'float32', shape: [n, 2], data: Float32Array.from({ length: 2 * n }, (_, i) => (i === 1 ? NaN : i + 0.5)) },
      tag: { dtype: 'string', shape: [n, 1], data: Array.from({ length: n }, (_, i) => `t"${i}`) },
    } },
    outputs: { kind: 'tensors', tensors: {
      label: { dtype: 'int64', shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2)) },
      probabilities: { dtype: 'float32', shape: [n, 2], data: Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? 0.25 : 0.75)) },
    } },
  };
}

for (const [name, open] of Object.entries(stores)) {
  describe(`prediction log writer on ${name}`, () => {
    let store: Store;
    before(async () => { store = await open(); });
    after(() => store.cleanup());

    it('queues without waiting, drops and counts what does not fit the buffer, writes on flush', async () => {
      const writer = new PredictionLogWriter(store.app.database, {
        policy: (m) => (m === 'w' ? { sample: 1, confidence: { min: 0.8, respond: false } } : undefined),
        bufferRows: 5, flushRows: 5, flushIntervalMs: 60_000,
      });
      assert.equal(writer.log(entry(2, 'not-logged')), undefined);
      const ids = writer.log(entry(3));
      assert.equal(ids?.length, 3);
      assert.equal(writer.log(entry(3)), undefined, 'a request that does not fit is dropped');
      assert.deepEqual(writer.stats(), { queued: 3, written: 0, dropped: 3, failed: 0 });
      await writer.flush();
      assert.deepEqual(writer.stats(), { queued: 0, written: 3, dropped: 3, failed: 0 });
      const rows = await listPredictions(store.app.database, { model: 'w' });
      assert.deepEqual(rows.map((p) => p.id), [...(ids ?? [])].sort());
      const byId = new Map(rows.map((p) => [p.id, p]));
      const first = byId.get(ids?.[0] ?? '');
      // Model "w" is not registered, so its packed tensor rows cannot be named after columns.
      assert.deepEqual(first?.inputs, { x: [0.5, null], tag: 't"0' });
      assert.deepEqual(byId.get(ids?.[2] ?? '')?.inputs, { x: [4.5, 5.5], tag: 't"2' });
      assert.deepEqual(first?.outputs, { label: 0, probabilities: [0.25, 0.75] });
      assert.equal(first?.confidence, 0.75);
      assert.equal(first?.lowConfidence, true);
      assert.equal(first?.source, 'batch');
      assert.equal(first?.version, 3);
      await writer.close();
      assert.equal(writer.log(entry(1)), undefined, 'a closed writer takes nothing');
    });

    it('stores numeric tensor requests exactly as the row encoder writes them (raw rows on SQLite, text on PostgreSQL)', async () => {
      // Every fixed-size dtype but float16, several rows per request, two layouts and a string
      // input (the text path) interleaved in one batch.
      const signature = {
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }, { name: 'w', dtype: 'float64', shape: [-1, 2] }, { name: 'n', dtype: 'int64', shape: [-1, 1] }, { name: 'f', dtype: 'bool', shape: [-1, 2] }, { name: 'b', dtype: 'uint8', shape: [-1, 1] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }, { name: 'probabilities', dtype: 'float32', shape: [-1, 3] }],
      } as unknown as ModelSignature;
      const t = (dtype: string, shape: number[], data: ArrayLike<number | bigint> | readonly string[]) => ({ dtype, shape, data }) as unknown as Tensor;
      const request = (n: number, seed: number, extra: boolean): PredictionEntry => ({
        model: 'raw', version: 1, signature, source: 'oip-rest', rows: n, latencyMs: 0.25,
        inputs: { kind: 'tensors', tensors: {
          x: t('float32', [n, 3], Float32Array.from({ length: 3 * n }, (_, i) => (i === 4 ? NaN : seed + i / 7))),
          w: t('float64', [n, 2], Float64Array.from({ length: 2 * n }, (_, i) => (i === 1 ? Infinity : seed * 1e-9 + i / 3))),
          n: t('int64', [n, 1], BigInt64Array.from({ length: n }, (_, i) => BigInt(seed * 1000 - i))),
          f: t('bool', [n, 2], Uint8Array.from({ length: 2 * n }, (_, i) => i % 3 === 0 ? 1 : 0)),
          b: t('uint8', [n, 1], Uint8Array.from({ length: n }, (_, i) => (seed + i) % 256)),
        } },
        outputs: { kind: 'tensors', tensors: {
          label: t('int64', [n], BigInt64Array.from({ length: n }, (_, i) => BigInt((seed + i) % 3))),
          probabilities: t('float32', [n, 3], Float32Array.from({ length: 3 * n }, (_, i) => ((seed + i) % 5) / 4)),
          ...(extra ? {
            score: t('float64', [n], Float64Array.from({ length: n }, (_, i) => (i === 0 ? NaN : seed / 3 + i))),
            mask: t('bool', [n, 2, 2], Uint8Array.from({ length: 4 * n }, (_, i) => i % 2)),
            count: t('uint64', [n], BigUint64Array.from({ length: n }, (_, i) => BigInt(seed + i))),
            code: t('int32', [n, 2], Int32Array.from({ length: 2 * n }, (_, i) => -seed - i)),
            // Parts narrower than 8 bytes: each row's next part starts at the next multiple of 8.
            small: t('int8', [n, 3], Int8Array.from({ length: 3 * n }, (_, i) => (i % 2 ? -1 : 1) * (seed + i))),
            half: t('int16', [n], Int16Array.from({ length: n }, (_, i) => -300 * seed - i)),
            wide: t('uint16', [n], Uint16Array.from({ length: n }, (_, i) => 60_000 + seed + i)),
            big: t('uint32', [n], Uint32Array.from({ length: n }, (_, i) => 4_000_000_000 + seed + i)),
          } : {}),
        } },
      });
      const texts: PredictionEntry[] = [{ ...entry(2, 'raw'), version: 1 }];
      const entries = [request(1, 1, false), request(3, 2, true), texts[0] as PredictionEntry, request(2, 3, false), request(1, 4, true)];
      const writer = new PredictionLogWriter(store.app.database, { policy: () => ({ sample: 1, confidence: { min: 0.6, respond: false } }), flushIntervalMs: 60_000 });
      const expected = new Map<string, [string, string, number | null]>();
      for (const e of entries) {
        const ids = writer.log(e);
        assert.equal(ids?.length, e.rows);
        const encoder = new RowEncoder(e.signature);
        ids?.forEach((id, r) => {
          // Confidence: the row's top probability (multiples of 0.25, exact in float32).
          const p = e.outputs.kind === 'tensors' ? e.outputs.tensors.probabilities?.data as Float32Array : undefined;
          const width = (p?.length ?? 0) / e.rows;
          expected.set(id, [encoder.inputs(e.inputs, r), encoder.outputs(e.outputs, r, e.rows), p ? Math.max(...p.subarray(r * width, (r + 1) * width)) : null]);
        });
      }
      await writer.close();
      // As stored: the table's rows and, on SQLite, the blocks' rows rebuilt as the table would hold them.
      const stored: StoredRow[] = [];
      for await (const page of scanLog(store.app.database, { model: 'raw' }, 'asc', { pageSize: 100, texts: true })) stored.push(...page);
      assert.equal(stored.length, expected.size);
      for (const row of stored) {
        const [inputs, outputs, confidence] = expected.get(row.id) ?? [];
        assert.equal(row.inputs, inputs, `inputs of ${row.id}`);
        assert.equal(row.outputs, outputs, `outputs of ${row.id}`);
        assert.equal(row.confidence === null ? null : Number(row.confidence), confidence ?? null, `confidence of ${row.id}`);
        assert.equal(Number(row.low_confidence) === 1, typeof confidence === 'number' && confidence < 0.6);
      }
    });

    it('past shed_from, samples requests down evenly instead of taking all until full and then none', async () => {
      const reasons = new Map<string, number>();
      const options = { policy: () => ({ sample: 1 }), bufferRows: 40, flushRows: 40, flushIntervalMs: 60_000, observer: { onDropped: (n: number, why: string) => reasons.set(why, (reasons.get(why) ?? 0) + n) } };
      const taken = (writer: PredictionLogWriter) => Array.from({ length: 120 }, () => (writer.log(entry(1, 'shed')) ? '1' : '0')).join('');
      const never = new PredictionLogWriter(store.app.database, { ...options, shedFrom: 1 });
      assert.equal(taken(never), '1'.repeat(40) + '0'.repeat(80), 'without shedding: a burst, then nothing');
      assert.deepEqual([...reasons], [['buffer_full', 80]]);
      await never.close();
      reasons.clear();
      const shedding = new PredictionLogWriter(store.app.database, options);
      const pattern = taken(shedding);
      assert.equal(pattern.slice(0, 20), '1'.repeat(20), 'every request while the buffer is under half full');
      const later = pattern.slice(20);
      const kept = [...later].filter((c) => c === '1').length;
      const ones = (from: number, to: number) => [...later.slice(from, to)].filter((c) => c === '1').length;
      assert.ok(kept >= 10 && kept <= 20, `some of the later requests, at most the room left: ${later}`);
      assert.ok(ones(0, 20) > ones(20, 40) && ones(20, 40) >= ones(40, 100), `fewer as the buffer fills: ${later}`);
      assert.ok(later.slice(40).includes('1'), `still taking some when the buffer is nearly full: ${later}`);
      assert.equal(shedding.stats().queued, 20 + kept);
      assert.equal((reasons.get('shed') ?? 0) + (reasons.get('buffer_full') ?? 0), 100 - kept);
      assert.ok((reasons.get('shed') ?? 0) > 0);
      await shedding.close();
    });

    it('flushes by itself once flush_rows are queued, and on close', async () => {
      const writer = new PredictionLogWriter(store.app.database, { policy: () => ({ sample: 1 }), bufferRows: 100, flushRows: 4, flushIntervalMs: 60_000 });
      writer.log(entry(4, 'auto'));
      while (writer.stats().written < 4) await new Promise((r) => setTimeout(r, 5));
      writer.log(entry(1, 'auto'));
      await writer.close();
      assert.equal((await countPredictions(store.app.database, { model: 'auto' })).total, 5);
    });

    it('writes a full buffer in batches of at most flush_rows rows', async () => {
      const batches: number[] = [];
      const writer = new PredictionLogWriter(store.app.database, { policy: () => ({ sample: 1 }), bufferRows: 100, flushRows: 10, flushIntervalMs: 60_000, observer: { onWritten: (n) => batches.push(n) } });
      for (let i = 0; i < 7; i++) writer.log(entry(4, 'batches'));
      await writer.flush();
      assert.deepEqual(batches, [8, 8, 8, 4]);
      await writer.close();
    });

    it('logs a scored Frame (batch, stream) through frameEntry: scored rows only, by column', async () => {
      const writer = new PredictionLogWriter(store.app.database, { policy: () => ({ sample: 1 }), flushIntervalMs: 60_000 });
      const frame = ColumnFrame.fromRows([{ k: 'a', x: 1.5 }, { k: 'b', x: 'bad' }, { k: 'c', x: 3 }]);
      const version = { model: 'frames', version: 2, signature: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1] }] } } as unknown as ModelVersion;
      const result = { model: 'frames', version: 2, rows: [0, 2], rejects: [], outputs: [{ name: 'y', dtype: 'float32' as const, rowShape: [], values: [10, 30] }] };
      const ids = writer.log(frameEntry(version, frame, result, 'batch', 8));
      assert.equal(ids?.length, 2);
      await writer.close();
      const rows = await listPredictions(store.app.database, { model: 'frames' });
      rows.sort((a, b) => (a.outputs.y as number) - (b.outputs.y as number));
      assert.deepEqual(rows.map((p) => [p.inputs, p.outputs, p.latencyMs, p.source]), [[{ k: 'a', x: 1.5 }, { y: 10 }, 4, 'batch'], [{ k: 'c', x: 3 }, { y: 30 }, 4, 'batch']]);
    });

    it('samples the given share of requests, evenly', async () => {
      const writer = new PredictionLogWriter(store.app.database, { policy: () => ({ sample: 0.25 }), flushIntervalMs: 60_000 });
      const answered = Array.from({ length: 12 }, () => writer.log(entry(1, 's')) !== undefined);
      assert.deepEqual(answered.map((a) => (a ? 1 : 0)).join(''), '000100010001');
      await writer.close();
    });

    it('counts a batch the database refuses as dropped (write_failed) and keeps serving', async () => {
      const other = await open();
      const dropped: string[] = [];
      const writer = new PredictionLogWriter(other.app.database, {
        policy: () => ({ sample: 1 }), flushIntervalMs: 60_000,
        observer: { onDropped: (n, reason) => dropped.push(`${n} ${reason}`), onError: () => undefined },
      });
      await other.cleanup(); // the database is gone
      assert.equal(writer.log(entry(2))?.length, 2);
      await writer.flush();
      assert.deepEqual(writer.stats(), { queued: 0, written: 0, dropped: 2, failed: 2 });
      assert.deepEqual(dropped, ['2 write_failed']);
      await writer.close();
    });

    it('prunes predictions older than the retention', async () => {
      const db = store.app.database;
      const now = Date.now();
      await insertPredictions(db, [row(1, { id: 'old', model: 'r', at: now - 3 * 86_400_000 }), row(2, { id: 'new', model: 'r', at: now - 3_600_000 })]);
      const writer = new PredictionLogWriter(db, { policy: () => undefined, retentionDays: 2 });
      await writer.prune(); // the constructor starts one too; this one is awaited
      await writer.close();
      assert.deepEqual((await listPredictions(db, { model: 'r' })).map((p) => p.id), ['new']);
    });
  });
}

describe('prediction ids', () => {
  it('are RFC 9562 version 7 UUIDs that start with the time and differ', () => {
    const before = Date.now();
    const ids = predictionIds(1000);
    assert.equal(new Set(ids).size, 1000);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const t = parseInt((ids[0] ?? '').replace('-', '').slice(0, 12), 16);
    assert.ok(t >= before && t <= Date.now());
  });

  it('sort in the order they were made, also past 4096 ids a millisecond (borrowed milliseconds never go back)', () => {
    // A batch chunk's ids borrow milliseconds ahead; the calls after it, made in real time that
    // is still behind, must not start lower.
    const made = [...predictionIds(20_000), ...predictionIds(3), ...predictionIds(5000), ...predictionIds(1)];
    for (let k = 1; k < made.length; k++) assert.ok((made[k - 1] as string) < (made[k] as string), `id ${k} sorts before id ${k - 1}`);
  });
});

describe('the SQLite writer thread and the live-metric gauges', () => {
  /** Nice values of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
  function threadNices(): number[] {
    return readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
  }

  it('runs the writer thread `writerNice` steps below the process priority, and the rest of the process at it', { skip: !existsSync('/proc/thread-self') }, async () => {
    const home = tempDir('ferry-plog-nice-');
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
    try {
      const base = getPriority();
      const before = threadNices();
      const writer = new PredictionLogWriter(app.database, { policy: () => ({ sample: 1 }), writerNice: 7 });
      const version = { model: 'n', version: 1, signature: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1] }] } } as unknown as ModelVersion;
      const result = { model: 'n', version: 1, rows: [0, 1], rejects: [], outputs: [{ name: 'y', dtype: 'float32' as const, rowShape: [], values: [10, 30] }] };
      const entry = frameEntry(version, ColumnFrame.fromRows([{ x: 1 }, { x: 3 }]), result, 'batch', 1);
      assert.equal(writer.log(entry)?.length, 2);
      await writer.flush(); // the thread has started, and written
      const after = threadNices();
      assert.equal(after.filter((n) => n === Math.min(19, base + 7)).length - before.filter((n) => n === Math.min(19, base + 7)).length, 1, `thread nice values ${after.join(',')} (process ${base})`);
      assert.equal(after.filter((n) => n === base).length, after.length - 1 - before.filter((n) => n !== base).length);
      await writer.close();
      assert.equal((await listPredictions(app.database, { model: 'n' })).length, 2);
    } finally {
      await app.close();
      home.cleanup();
    }
  });

  it('compute the last hour over at most maxRows predictions, decoding outputs only where there is ground truth', async () => {
    const home = tempDir('ferry-plog-gauges-');
    const app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
    try {
      const now = Date.now();
      // 30 rows in the hour; the 5 newest are labelled (label = actual), so the capped window of 10 has 5 labelled.
      const rows = Array.from({ length: 30 }, (_, i) => row(i, { id: `g${String(i).padStart(3, '0')}`, model: 'g', at: now - 60_000 + i }));
      rows.push(row(99, { id: 'g-bad-outputs', model: 'g', at: now - 120_000, outputs: '{not json' })); // unlabelled, outside the newest 10: never decoded
      await insertPredictions(app.database, rows);
      const labelled = rows.slice(25, 30).map((r) => ({ prediction_id: r.id, actual: (JSON.parse(r.outputs) as { label: number }).label }));
      assert.equal((await applyFeedback(app.database, labelled)).attached, 5);
      const registry = new Registry();
      new LiveMetricGauges(app.database, registry, () => ['g'], 10);
      const text = await registry.metrics();
      assert.match(text, /^ferry_live_predictions\{model="g",kind="total"\} 10$/m);
      assert.match(text, /^ferry_live_predictions\{model="g",kind="labelled"\} 5$/m);
      assert.match(text, /^ferry_live_metric\{model="g",metric="accuracy"\} 1$/m);
      const all = new Registry();
      new LiveMetricGauges(app.database, all, () => ['g']);
      // Unbounded, the window holds the row whose outputs are not JSON but unlabelled: outputs are not decoded, so it counts.
      assert.match(await all.metrics(), /^ferry_live_predictions\{model="g",kind="total"\} 31$/m);
    } finally {
      await app.close();
      home.cleanup();
    }
  });
});
