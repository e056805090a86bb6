/**
 * The prediction log's read side, pinned through the public functions only (never SQL on the
 * log's tables), so that it holds whatever the storage underneath: one row per prediction, or a
 * server's numeric-tensor rows kept as one stored block per flushed batch and merged at read time
 * with the rows kept one by one (frames from batch and stream, explained rows, rows whose ids were
 * given). Rows are logged the way the servers, batch jobs and stream consumers log them (through
 * PredictionLogWriter, several flushes), then read back by listPredictions/readPredictionChunks,
 * countPredictions, getPrediction, feedback, retention and the drift reads. SQLite registries,
 * each test in a FERRY_HOME of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { ColumnFrame } from '../src/core/frame.js';
import type { ModelSignature } from '../src/core/signature.js';
import type { ModelVersion } from '../src/registry/types.js';
import type { RegistryDb } from '../src/registry/registry-db.js';
import { frameEntry, PredictionLogWriter, predictionIds, type PredictionEntry } from '../src/monitoring/prediction-log-writer.js';
import {
  countPredictions, deletePredictionsBefore, getPrediction, listPredictions, readPredictionChunks, readPredictions,
  type LoggedPrediction, type PredictionQuery,
} from '../src/monitoring/prediction-log-store.js';
import { applyFeedback, attachFeedback } from '../src/monitoring/feedback.js';
import { driftReport, readLogPages, readLogWindow } from '../src/monitoring/drift-run.js';
import { driftTimeline, featureHistogram, histogramOf } from '../src/monitoring/drift-timeline.js';
import { logColumns, type RawLoggedRow } from '../src/monitoring/log-columns.js';
import { buildProfile } from '../src/monitoring/profile.js';
import { saveProfile } from '../src/monitoring/profile-store.js';
import { tempDir } from './helpers/env.js';
import { mulberry32 } from '../src/core/random.js';

const T0 = Date.UTC(2026, 0, 5, 12);
/** The tensor traffic of model `m` spans about this long (one entry every 480 ms). */
const SPAN = 10 * 60_000;
const MIN_CONFIDENCE = 0.7;

/** Model `m` (registered: packed tensor rows are named after the input's columns). */
const SIGNATURE_M: ModelSignature = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3], columns: ['a', 'b', 'c'] }],
  outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }, { name: 'probabilities', dtype: 'float32', shape: [-1, 2] }],
};
/** Model `n` (not registered: its tensor rows read back as one array per input; no confidence). */
const SIGNATURE_N: ModelSignature = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }],
  outputs: [{ name: 'y', dtype: 'float64', shape: [-1] }],
};

type Kind = 'tensor' | 'frame' | 'explained' | 'given' | 'other-model';

/** A logged row as it must read back, with how it was logged. */
interface Expected {
  readonly kind: Kind;
  /** The row's serial number: `a` of its inputs (model m), `x[0]` (model n). */
  readonly serial: number;
  readonly row: LoggedPrediction;
}

/** Deterministic pseudo-random numbers in [0, 1). */
const random = mulberry32;

/** Oldest first by (at, id), as the log reads. */
function byAtId(a: LoggedPrediction, b: LoggedPrediction): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Row s's class probabilities: multiples of 1/8, exact in float32; the top one is its confidence. */
function probabilities(s: number): [number, number] {
  const p = (s % 9) / 8;
  return [1 - p, p];
}

function inputsM(s: number): { a: number; b: number; c: number } {
  return { a: s, b: s + 0.25, c: -s / 4 };
}

function outputsM(s: number): { label: number; probabilities: [number, number] } {
  return { label: s % 3, probabilities: probabilities(s) };
}

function confidenceM(s: number): { confidence: number; lowConfidence: boolean } {
  const confidence = Math.max(...probabilities(s));
  return { confidence, lowConfidence: confidence < MIN_CONFIDENCE };
}

/** A server's request of model m: numeric tensors, one row per serial. */
function tensorEntry(version: ModelVersion, serials: readonly number[], at: number, source: string): PredictionEntry {
  const n = serials.length;
  return {
    model: 'm', version: version.version, signature: version.signature, source, rows: n, at,
    latencyMs: 0.5 + (serials[0]! % 4) / 4,
    inputs: { kind: 'tensors', tensors: { x: { dtype: 'float32', shape: [n, 3], data: Float32Array.from(serials.flatMap((s) => Object.values(inputsM(s)))) } } },
    outputs: { kind: 'tensors', tensors: {
      label: { dtype: 'int64', shape: [n], data: BigInt64Array.from(serials, (s) => BigInt(s % 3)) },
      probabilities: { dtype: 'float32', shape: [n, 2], data: Float32Array.from(serials.flatMap(probabilities)) },
    } },
  };
}

/** A scored Frame of model m (batch, stream): a rejected row first (not logged), then one row per serial. */
function frameRows(version: ModelVersion, serials: readonly number[], at: number, source: 'batch' | 'stream'): PredictionEntry {
  const frame = ColumnFrame.fromRows([{ a: -1, b: 'bad', c: 0, k: 'rejected' }, ...serials.map((s) => ({ ...inputsM(s), k: `k${s}` }))]);
  const result = {
    model: 'm', version: version.version, rows: serials.map((_, i) => i + 1), rejects: [],
    outputs: [
      { name: 'label', dtype: 'int64' as const, rowShape: [], values: serials.map((s) => s % 3) },
      { name: 'probabilities', dtype: 'float32' as const, rowShape: [2], values: serials.map(probabilities) },
    ],
  };
  return { ...frameEntry(version, frame, result, source, 2 * serials.length), at };
}

/** A request of model n. */
function otherEntry(serials: readonly number[], at: number): PredictionEntry {
  const n = serials.length;
  return {
    model: 'n', version: 1, signature: SIGNATURE_N, source: 'oip-grpc', rows: n, at, latencyMs: 1,
    inputs: { kind: 'tensors', tensors: { x: { dtype: 'float32', shape: [n, 2], data: Float32Array.from(serials.flatMap((s) => [s, s + 0.5])) } } },
    outputs: { kind: 'tensors', tensors: { y: { dtype: 'float64', shape: [n], data: Float64Array.from(serials, (s) => s * 2) } } },
  };
}

function newWriter(db: RegistryDb): PredictionLogWriter {
  // Flushes only when the test asks (or on close): the batches are the test's.
  return new PredictionLogWriter(db, {
    policy: (model) => (model === 'm' || model === 'n' ? { sample: 1, confidence: { min: MIN_CONFIDENCE, respond: false } } : undefined),
    bufferRows: 1_000_000, flushRows: 1_000_000, flushIntervalMs: 3_600_000, shedFrom: 1,
  });
}

/** Versions 1 and 2 of model m, registered through the registry store (no artifact is loaded). */
async function registerM(app: Ferry): Promise<ModelVersion[]> {
  const versions: ModelVersion[] = [];
  for (const digit of ['1', '2']) {
    versions.push(await app.registry.store.createVersion({ model: 'm', digest: `sha256:${digit.repeat(64)}`, size: 1, format: 'onnx', signature: SIGNATURE_M, createdBy: 'test' }));
  }
  return versions;
}

interface Logged {
  readonly versions: readonly ModelVersion[];
  /** Every logged row, oldest first by (at, id). */
  readonly rows: readonly Expected[];
  readonly flushes: number;
}

/**
 * Log `tensorRows` tensor rows of model m (entries of 1–3 rows, versions 1 and 2, about
 * every 480 ms with jitter so entries overlap in time, times on a 100 ms grid so many rows
 * share a time) with, interleaved in time, frame rows (batch and stream), explained rows, rows
 * with given ids and rows of model n; flushed every 150 or so tensor rows.
 */
async function populate(app: Ferry, tensorRows = 2500): Promise<Logged> {
  const versions = await registerM(app);
  const [v1, v2] = versions as [ModelVersion, ModelVersion];
  const writer = newWriter(app.database);
  const rand = random(20260105);
  const rows: Expected[] = [];
  let serial = 0;
  const next = (n: number) => Array.from({ length: n }, () => ++serial);
  const log = (entry: PredictionEntry, kind: Kind, serials: readonly number[]) => {
    const ids = writer.log(entry);
    assert.equal(ids?.length, serials.length, 'every entry is taken');
    serials.forEach((s, r) => {
      const id = ids?.[r] as string;
      const common = { id, version: entry.version, at: entry.at as number, source: entry.source };
      if (kind === 'other-model') {
        rows.push({ kind, serial: s, row: { ...common, model: 'n', inputs: { x: [s, s + 0.5] }, outputs: { y: s * 2 }, latencyMs: 1, confidence: null, lowConfidence: false } });
        return;
      }
      const inputs = kind === 'frame' ? { ...inputsM(s), k: `k${s}` } : inputsM(s);
      rows.push({ kind, serial: s, row: { ...common, model: 'm', inputs, outputs: outputsM(s), latencyMs: entry.latencyMs, ...confidenceM(s) } });
    });
  };
  let tensor = 0;
  let flushedAt = 0;
  let flushes = 0;
  let edge = 0;
  for (let step = 0; tensor < tensorRows; step++) {
    const n = Math.min(1 + Math.floor(rand() * 3), tensorRows - tensor);
    const at = T0 + 100 * Math.round(Math.max(0, step * 480 + (rand() - 0.5) * 600) / 100);
    const version = rand() < 0.3 ? v2 : v1;
    let serials = next(n);
    log(tensorEntry(version, serials, at, step % 2 === 0 ? 'oip-rest' : 'oip-grpc'), 'tensor', serials);
    tensor += n;
    if (step % 9 === 4) {
      serials = next(1 + (step % 3));
      log(frameRows(rand() < 0.5 ? v1 : v2, serials, step % 2 === 0 ? at : at + 50, step % 18 < 9 ? 'batch' : 'stream'), 'frame', serials);
    }
    if (step % 37 === 11) {
      serials = next(1);
      const e = tensorEntry(version, serials, at + 20, 'oip-rest');
      log({ ...e, explained: { names: ['a', 'b', 'c'], attributions: { space: 'margin', groups: 1, features: 3, values: Float64Array.of(serials[0]! / 2, -0.25, 1) } } }, 'explained', serials);
    }
    if (step % 41 === 17) {
      serials = next(2);
      // Ids made elsewhere (an edge package's report): one of its own form, one uuid v7.
      log({ ...tensorEntry(version, serials, at, 'edge'), ids: [`edge-${String(edge++).padStart(4, '0')}`, predictionIds(1)[0] as string] }, 'given', serials);
    }
    if (step % 5 === 2) {
      serials = next(1 + (step % 2));
      log(otherEntry(serials, at), 'other-model', serials);
    }
    if (tensor - flushedAt >= 150) {
      await writer.flush();
      flushedAt = tensor;
      flushes++;
    }
  }
  await writer.close();
  flushes++;
  rows.sort((a, b) => byAtId(a.row, b.row));
  return { versions, rows, flushes };
}

/** Each test's own FERRY_HOME with a SQLite registry, closed and removed after. */
async function withFerry(fn: (app: Ferry) => Promise<void>): Promise<void> {
  const home = tempDir('ferry-logreads-');
  const app = await openFerry(loadConfig({ FERRY_HOME: home.dir }));
  try {
    await fn(app);
  } finally {
    await app.close();
    home.cleanup();
  }
}

const ofModel = (logged: Logged, model: string) => logged.rows.filter((e) => e.row.model === model).map((e) => e.row);
const ids = (rows: readonly LoggedPrediction[]) => rows.map((p) => p.id);

/** The expected rows of a query (no `last`): the filters applied to the logged rows. */
function matching(rows: readonly LoggedPrediction[], q: Omit<PredictionQuery, 'model' | 'last'>): LoggedPrediction[] {
  const ms = (t: number | Date) => (typeof t === 'number' ? t : t.getTime());
  return rows.filter((p) => (q.version === undefined || p.version === q.version)
    && (q.since === undefined || p.at >= ms(q.since))
    && (q.until === undefined || p.at < ms(q.until))
    && (q.lowConfidence === undefined || p.lowConfidence === q.lowConfidence)
    && (q.labelled === undefined || (p.actual !== undefined) === q.labelled));
}

/** What countPredictions must say of these rows. */
function counted(rows: readonly LoggedPrediction[]): { total: number; labelled: number; lowConfidence: number } {
  return { total: rows.length, labelled: rows.filter((p) => p.actual !== undefined).length, lowConfidence: rows.filter((p) => p.lowConfidence).length };
}

/** Every chunk of a read, with the chunk sizes. */
async function chunks(db: RegistryDb, query: PredictionQuery, chunkSize: number): Promise<{ rows: LoggedPrediction[]; sizes: number[] }> {
  const rows: LoggedPrediction[] = [];
  const sizes: number[] = [];
  for await (const chunk of readPredictionChunks(db, query, { chunkSize })) {
    sizes.push(chunk.length);
    rows.push(...chunk);
  }
  return { rows, sizes };
}

/** Sizes of a read of `n` rows in chunks of `size`: full chunks, then the rest (none when it divides). */
function chunkSizes(n: number, size: number): number[] {
  const out = Array.from({ length: Math.floor(n / size) }, () => size);
  if (n % size > 0) out.push(n % size);
  return out;
}

/** Inputs of one stored page row by data column (tensor rows spread over a, b, c; frame cells as they are). */
function pageInputs(row: RawLoggedRow): Record<string, unknown> {
  const columns = logColumns([{ inputs: JSON.parse(row.inputs) as Record<string, unknown>, outputs: {} }], { x: ['a', 'b', 'c'] });
  return Object.fromEntries([...columns.inputs].map(([name, values]) => [name, values[0]]));
}

describe('prediction log reads (through the public read API, whatever the storage)', () => {
  it('lists every row of a model oldest first by (at, id) with the values logged, over many batches, with frame rows interleaved', async () => {
    await withFerry(async (app) => {
      const logged = await populate(app);
      const db = app.database;
      const m = ofModel(logged, 'm');
      const kinds = (kind: Kind) => logged.rows.filter((e) => e.kind === kind).length;
      assert.equal(kinds('tensor'), 2500);
      assert.ok(kinds('frame') > 100 && kinds('explained') > 10 && kinds('given') > 10 && kinds('other-model') > 300, 'every kind of row is there');
      assert.ok(logged.flushes >= 10, `${logged.flushes} batches`);
      assert.ok(new Set(m.map((p) => p.at)).size < m.length - 500, 'many rows share their time with another');

      const listed = await listPredictions(db, { model: 'm' });
      assert.equal(listed.length, m.length);
      assert.deepEqual(ids(listed), ids(m), 'oldest first by (at, id)');
      assert.deepEqual(listed, m, 'inputs, outputs, version, time, source, latency and confidence as logged');
      // Tensor and frame rows interleave in time, also at the same millisecond.
      const frameAt = new Set(logged.rows.filter((e) => e.kind === 'frame').map((e) => e.row.at));
      assert.ok(logged.rows.some((e) => e.kind === 'tensor' && frameAt.has(e.row.at)), 'a tensor row shares its time with a frame row');

      // The same sequence in chunks of 7: no duplicate, no gap, every chunk full but the last.
      const read = await chunks(db, { model: 'm' }, 7);
      assert.deepEqual(read.sizes, chunkSizes(m.length, 7));
      assert.deepEqual(ids(read.rows), ids(m));
      assert.deepEqual(read.rows, m);
      const oneByOne: string[] = [];
      for await (const p of readPredictions(db, { model: 'm' }, { chunkSize: 250 })) oneByOne.push(p.id);
      assert.deepEqual(oneByOne, ids(m));

      // The other model: its own rows only, unnamed arrays (not registered), no confidence.
      const n = ofModel(logged, 'n');
      assert.deepEqual(await listPredictions(db, { model: 'n' }), n);
      assert.deepEqual(await listPredictions(db, { model: 'nobody' }), []);

      // What to decode: inputs and outputs left out on request; attributions only when asked, on explained rows.
      const lean = await listPredictions(db, { model: 'm' }, { inputs: false, outputs: false, chunkSize: 999 });
      assert.deepEqual(lean, m.map((p) => ({ ...p, inputs: {}, outputs: {} })));
      const explainedSerials = new Set(logged.rows.filter((e) => e.kind === 'explained').map((e) => e.serial));
      const withAttributions = await listPredictions(db, { model: 'm' }, { attributions: true });
      assert.deepEqual(withAttributions.filter((p) => p.attributions !== undefined).map((p) => p.inputs.a), m.filter((p) => explainedSerials.has(p.inputs.a as number)).map((p) => p.inputs.a));
      for (const p of withAttributions.filter((q) => q.attributions !== undefined)) {
        assert.deepEqual(p.attributions, { space: 'margin', contributions: { a: (p.inputs.a as number) / 2, b: -0.25, c: 1 } });
      }
      const explained = await listPredictions(db, { model: 'm', explained: true });
      assert.deepEqual(ids(explained), ids(m.filter((p) => explainedSerials.has(p.inputs.a as number))));
      assert.equal((await listPredictions(db, { model: 'm', explained: false })).length, m.length - explained.length);
    });
  });

  it('merges the rows of two writers on one database (two server processes) in (at, id) order', async () => {
    await withFerry(async (app) => {
      const [v1, v2] = await registerM(app) as [ModelVersion, ModelVersion];
      const writers = [newWriter(app.database), newWriter(app.database)] as const;
      const expected: LoggedPrediction[] = [];
      let serial = 0;
      for (let i = 0; i < 600; i++) {
        // Writer 0 at even 10 ms steps, writer 1 at odd ones, both at every 25th step; each flushes on its own rhythm.
        const both = i % 25 === 0;
        for (const w of both ? [0, 1] : [i % 2]) {
          const serials = Array.from({ length: 1 + (i % 3) }, () => ++serial);
          const version = i % 7 === 0 ? v2 : v1;
          const at = T0 + 10 * i;
          const entry = w === 1 && i % 50 === 25 ? frameRows(version, serials, at, 'stream') : tensorEntry(version, serials, at, 'oip-rest');
          const got = writers[w as 0 | 1].log(entry);
          assert.equal(got?.length, serials.length);
          serials.forEach((s, r) => expected.push({
            id: got?.[r] as string, model: 'm', version: version.version, at, source: entry.source,
            inputs: entry.inputs.kind === 'frame' ? { ...inputsM(s), k: `k${s}` } : inputsM(s), outputs: outputsM(s), latencyMs: entry.latencyMs, ...confidenceM(s),
          }));
        }
        if (i % 60 === 59) await writers[0].flush();
        if (i % 85 === 84) await writers[1].flush();
      }
      await writers[1].close();
      await writers[0].close();
      expected.sort(byAtId);
      const listed = await listPredictions(app.database, { model: 'm' });
      assert.deepEqual(listed, expected);
      assert.deepEqual((await chunks(app.database, { model: 'm' }, 7)).rows, expected);
      assert.deepEqual(await listPredictions(app.database, { model: 'm', version: 2 }), expected.filter((p) => p.version === 2));
      assert.deepEqual(await listPredictions(app.database, { model: 'm', last: 33 }), expected.slice(-33));
      assert.deepEqual(await countPredictions(app.database, { model: 'm' }), counted(expected));
      for (const p of expected.filter((_, i) => i % 23 === 0)) assert.deepEqual(await getPrediction(app.database, p.id), p);
    });
  });

  it('filters by version, time window, low confidence and newest N, and counts what it lists', async () => {
    await withFerry(async (app) => {
      const logged = await populate(app);
      const db = app.database;
      const m = ofModel(logged, 'm');
      const check = async (q: Omit<PredictionQuery, 'model' | 'last'>, what: string) => {
        const want = matching(m, q);
        assert.deepEqual(await listPredictions(db, { model: 'm', ...q }), want, what);
        assert.deepEqual((await chunks(db, { model: 'm', ...q }, 7)).rows, want, `${what}, in chunks of 7`);
        assert.deepEqual(await countPredictions(db, { model: 'm', ...q }), counted(want), `${what}: count`);
        return want;
      };

      assert.ok((await check({ version: 1 }, 'version 1')).length > 1000);
      assert.ok((await check({ version: 2 }, 'version 2')).length > 500);
      assert.deepEqual(await check({ version: 3 }, 'a version never logged'), []);

      // Window boundaries on times several rows share (tensor and frame rows among them):
      // since takes the rows at its time, until leaves them out.
      const counts = new Map<number, LoggedPrediction[]>();
      for (const p of m) counts.set(p.at, [...(counts.get(p.at) ?? []), p]);
      const shared = [...counts].filter(([, rows]) => rows.length >= 3).map(([at]) => at);
      const mixed = shared.filter((at) => counts.get(at)?.some((p) => p.inputs.k !== undefined));
      const since = mixed[Math.floor(mixed.length / 4)] as number;
      const until = shared.find((at) => at > since + 120_000) as number;
      assert.ok(since !== undefined && until !== undefined);
      const window = await check({ since, until }, 'since/until');
      assert.equal(window[0]?.at, since);
      assert.deepEqual(window.filter((p) => p.at === since).length, counts.get(since)?.length, 'every row at `since` is in');
      assert.ok(window.every((p) => p.at < until), 'no row at `until`');
      assert.deepEqual(await listPredictions(db, { model: 'm', since: new Date(since), until: new Date(until) }), window, 'Dates as times');
      await check({ since: until }, 'since alone');
      await check({ until: since }, 'until alone');
      assert.deepEqual(await check({ since, until: since }, 'an empty window'), []);
      await check({ since: since + 1, until: until + 1 }, 'one millisecond later');
      await check({ version: 2, since, until }, 'version and window');

      // Low confidence: flagged by the writer from the policy's minimum (tensor and frame rows alike).
      const low = await check({ lowConfidence: true }, 'low confidence');
      assert.ok(low.length > 500 && low.every((p) => p.confidence !== null && p.confidence < MIN_CONFIDENCE));
      assert.ok(low.some((p) => p.inputs.k !== undefined), 'frame rows are flagged too');
      const confident = await check({ lowConfidence: false }, 'not low confidence');
      assert.equal(low.length + confident.length, m.length);
      await check({ lowConfidence: true, version: 2, since }, 'low confidence, version 2, since');

      // Newest N, still oldest first; counted alike.
      for (const [q, n] of [[{}, 1], [{}, 7], [{}, 100], [{}, 1234], [{}, m.length], [{}, m.length + 10], [{ version: 2 }, 50], [{ lowConfidence: true }, 77], [{ since, until }, 20], [{ since, until }, 1_000_000]] as const) {
        const want = matching(m, q).slice(-n);
        assert.deepEqual(await listPredictions(db, { model: 'm', ...q, last: n }), want, `last ${n} of ${JSON.stringify(q)}`);
        const read = await chunks(db, { model: 'm', ...q, last: n }, 7);
        assert.deepEqual(read.rows, want, `last ${n} of ${JSON.stringify(q)}, in chunks of 7`);
        assert.deepEqual(read.sizes, chunkSizes(want.length, 7));
        assert.deepEqual(await countPredictions(db, { model: 'm', ...q, last: n }), counted(want), `count of last ${n} of ${JSON.stringify(q)}`);
      }
      assert.deepEqual(await listPredictions(db, { model: 'm', last: 0 }), []);
      assert.deepEqual(await countPredictions(db, { model: 'm', last: 0 }), { total: 0, labelled: 0, lowConfidence: 0 });
      assert.deepEqual(await countPredictions(db, { model: 'n' }), counted(ofModel(logged, 'n')));
      assert.deepEqual(await countPredictions(db, { model: 'nobody' }), { total: 0, labelled: 0, lowConfidence: 0 });
    });
  });

  it('finds each logged row by id (tensor, frame, explained, given ids, other model), and no other', async () => {
    await withFerry(async (app) => {
      const logged = await populate(app);
      const db = app.database;
      const sample = logged.rows.filter((e, i) => e.kind !== 'tensor' || i % 11 === 0);
      assert.ok(sample.length > 600);
      for (const e of sample) {
        const found = await getPrediction(db, e.row.id);
        const attributions = e.kind === 'explained' ? { attributions: { space: 'margin', contributions: { a: e.serial / 2, b: -0.25, c: 1 } } } : {};
        assert.deepEqual(found, { ...e.row, ...attributions }, `${e.kind} row ${e.row.id}`);
      }
      // The first, last and a middle generated id: ends of batches and their neighbourhood.
      const generated = logged.rows.filter((e) => e.kind === 'tensor').map((e) => e.row.id).sort();
      for (const id of [generated[0], generated[generated.length - 1], generated[1000]] as string[]) assert.equal((await getPrediction(db, id))?.id, id);
      // Ids never logged: of another form, and uuid v7s between logged ones, before the first and after the last.
      const near = (id: string, last: string) => `${id.slice(0, -1)}${last}`;
      const middle = generated[1000] as string;
      const unknown = [
        'nope', '', 'edge-9999',
        near(middle, middle.endsWith('0') ? '1' : '0'),
        '00000000-0000-7000-8000-000000000000',
        'ffffffff-ffff-7fff-bfff-ffffffffffff',
      ].filter((id) => !logged.rows.some((e) => e.row.id === id));
      assert.equal(unknown.length, 6);
      for (const id of unknown) assert.equal(await getPrediction(db, id), undefined, `unknown id ${JSON.stringify(id)}`);
    });
  });

  it('attaches ground truth to tensor and frame rows: each row stays listed once, with actual and actualAt', async () => {
    await withFerry(async (app) => {
      const logged = await populate(app);
      const db = app.database;
      const m = ofModel(logged, 'm');
      const of = (kind: Kind) => logged.rows.filter((e) => e.kind === kind && e.row.model === 'm');
      const tensors = of('tensor');
      // Tensor rows across the log (low-confidence ones among them, the newest too), frame, explained and given-id rows, a row of model n.
      const targets = [
        ...tensors.filter((_, i) => i % 97 === 5), tensors[0], tensors[tensors.length - 1], tensors[tensors.length - 2],
        ...of('frame').filter((_, i) => i % 13 === 0), ...of('explained').slice(0, 3), ...of('given').slice(0, 3),
        logged.rows.find((e) => e.kind === 'other-model'),
      ].filter((e): e is Expected => e !== undefined);
      const targetIds = new Set(targets.map((e) => e.row.id));
      assert.equal(targetIds.size, targets.length);
      assert.ok(targets.some((e) => e.row.lowConfidence) && targets.some((e) => !e.row.lowConfidence));
      const actualOf = (e: Expected): unknown => (e.serial % 4 === 0 ? { label: e.serial % 3, note: `n${e.serial}` } : e.serial % 4 === 1 ? `class-${e.serial % 3}` : e.serial % 4 === 2 ? [e.serial, 0.5] : e.serial % 3);
      const first = targets[0] as Expected;
      const missing = `${first.row.id.slice(0, -1)}${first.row.id.endsWith('0') ? '1' : '0'}`;
      const now = T0 + 86_400_000;
      const result = await attachFeedback(db, [
        { predictionId: first.row.id, actual: 'overwritten' }, // the same id twice: the last wins
        ...targets.map((e) => ({ predictionId: e.row.id, actual: actualOf(e) })),
        { predictionId: 'unknown-1', actual: 1 },
        { predictionId: missing, actual: 1 },
      ], now);
      assert.equal(result.attached, targets.length);
      assert.deepEqual([...result.unknown].sort(), ['unknown-1', missing].sort());

      const labelled = (e: Expected): LoggedPrediction => (targetIds.has(e.row.id) ? { ...e.row, actual: actualOf(e), actualAt: now } : e.row);
      let want = logged.rows.filter((e) => e.row.model === 'm').map(labelled);
      const listed = await listPredictions(db, { model: 'm' });
      assert.equal(listed.length, m.length, 'no row twice, none lost');
      assert.deepEqual(listed, want);
      assert.deepEqual((await chunks(db, { model: 'm' }, 7)).rows, want);
      assert.deepEqual(await listPredictions(db, { model: 'm', labelled: true }), want.filter((p) => p.actual !== undefined));
      assert.deepEqual(await listPredictions(db, { model: 'm', labelled: false }), want.filter((p) => p.actual === undefined));
      assert.deepEqual(await listPredictions(db, { model: 'm', last: 10 }), want.slice(-10));
      assert.deepEqual(await listPredictions(db, { model: 'm', lowConfidence: true }), want.filter((p) => p.lowConfidence));
      for (const q of [{}, { labelled: true }, { labelled: false }, { lowConfidence: true }, { version: 2 }, { labelled: true, version: 1 }] as const) {
        assert.deepEqual(await countPredictions(db, { model: 'm', ...q }), counted(matching(want, q)), `count ${JSON.stringify(q)}`);
        assert.deepEqual(await countPredictions(db, { model: 'm', ...q, last: 40 }), counted(matching(want, q).slice(-40)), `count ${JSON.stringify(q)} last 40`);
      }
      assert.equal((await countPredictions(db, { model: 'm' })).labelled, targets.length - 1);
      for (const e of targets) {
        const found = await getPrediction(db, e.row.id);
        assert.deepEqual(found?.actual, actualOf(e), `actual of ${e.kind} row`);
        assert.equal(found?.actualAt, now);
      }
      assert.deepEqual(await listPredictions(db, { model: 'n', labelled: true }), [labelled(targets[targets.length - 1] as Expected)]);

      // Again through applyFeedback: a label removed (null), one replaced, malformed items rejected.
      const [removed, replaced] = [targets[1], targets[2]] as [Expected, Expected];
      const later = now + 1000;
      const again = await applyFeedback(db, [
        { prediction_id: removed.row.id, actual: null },
        { prediction_id: replaced.row.id, actual: 'changed' },
        { prediction_id: '', actual: 1 },
        { prediction_id: first.row.id },
        { prediction_id: 'unknown-2', actual: 0 },
      ], later);
      assert.equal(again.attached, 2);
      assert.deepEqual(again.unknown, ['unknown-2']);
      assert.deepEqual(again.rejected.map((r) => r.index), [2, 3]);
      want = want.map((p) => (p.id === removed.row.id ? removed.row : p.id === replaced.row.id ? { ...p, actual: 'changed', actualAt: later } : p));
      const relisted = await listPredictions(db, { model: 'm' });
      assert.deepEqual(relisted, want);
      const unlabelled = await getPrediction(db, removed.row.id);
      assert.equal(unlabelled?.actual, undefined);
      assert.equal(unlabelled?.actualAt, undefined);
      assert.deepEqual(await listPredictions(db, { model: 'm', labelled: true }), want.filter((p) => p.actual !== undefined));
      assert.deepEqual(await countPredictions(db, { model: 'm' }), counted(want));
      assert.equal(relisted.filter((p) => p.id === removed.row.id || p.id === replaced.row.id).length, 2);

      // The drift reads see each row once too.
      let pageRows = 0;
      await readLogPages(app, 'm', undefined, undefined, undefined, undefined, (page) => { pageRows += page.length; });
      assert.equal(pageRows, m.length);
    });
  });

  it('deletes the rows older than the retention cutoff, keeps the newer ones', async () => {
    await withFerry(async (app) => {
      const logged = await populate(app);
      const db = app.database;
      // Ground truth on rows on both sides of the cutoff first: retention takes labelled rows too.
      const cutoff = T0 + SPAN / 2;
      const old = logged.rows.filter((e) => e.row.at < cutoff - 120_000);
      const young = logged.rows.filter((e) => e.row.at >= cutoff);
      const targets = [...old.filter((_, i) => i % 50 === 0), ...young.filter((_, i) => i % 50 === 0)];
      assert.equal((await attachFeedback(db, targets.map((e) => ({ predictionId: e.row.id, actual: e.serial % 3 })), T0 + SPAN)).attached, targets.length);
      const labelledIds = new Set(targets.map((e) => e.row.id));
      const labelled = (p: LoggedPrediction): LoggedPrediction => (labelledIds.has(p.id) ? { ...p, actual: (p.model === 'n' ? (p.inputs.x as number[])[0]! : p.inputs.a as number) % 3, actualAt: T0 + SPAN } : p);

      const deleted = await deletePredictionsBefore(db, cutoff);
      assert.ok(deleted > 0, `deleted ${deleted}`);
      for (const model of ['m', 'n']) {
        const rows = ofModel(logged, model).map(labelled);
        const listed = await listPredictions(db, { model });
        assert.equal(new Set(ids(listed)).size, listed.length, 'no row twice');
        assert.deepEqual(listed.filter((p) => p.at < cutoff - 60_000), [], `${model}: rows older than the cutoff by more than a minute are gone`);
        assert.deepEqual(listed.filter((p) => p.at >= cutoff), rows.filter((p) => p.at >= cutoff), `${model}: the newer rows stay, as they were`);
        // Rows in the minute before the cutoff may stay: whichever do are the logged ones, in order.
        const kept = new Set(ids(listed));
        assert.deepEqual(listed, rows.filter((p) => kept.has(p.id)));
        assert.deepEqual(await countPredictions(db, { model }), counted(listed));
        assert.deepEqual(await countPredictions(db, { model, until: cutoff - 60_000 }), { total: 0, labelled: 0, lowConfidence: 0 });
        assert.deepEqual(await countPredictions(db, { model, since: cutoff }), counted(rows.filter((p) => p.at >= cutoff)));
        assert.deepEqual(await listPredictions(db, { model, last: 25 }), listed.slice(-25));
      }
      for (const e of old.filter((_, i) => i % 40 === 0)) assert.equal(await getPrediction(db, e.row.id), undefined, `old ${e.kind} row`);
      for (const e of young.filter((_, i) => i % 40 === 0)) assert.equal((await getPrediction(db, e.row.id))?.id, e.row.id, `young ${e.kind} row`);
      let pageRows = 0;
      await readLogPages(app, 'm', undefined, undefined, undefined, undefined, (page) => { pageRows += page.length; });
      assert.equal(pageRows, (await countPredictions(db, { model: 'm' })).total);

      // A cutoff past every row, by more than a minute: nothing is left.
      assert.ok(await deletePredictionsBefore(db, T0 + SPAN + 180_000) > 0);
      for (const model of ['m', 'n']) {
        assert.deepEqual(await listPredictions(db, { model }), []);
        assert.deepEqual(await countPredictions(db, { model }), { total: 0, labelled: 0, lowConfidence: 0 });
      }
      assert.equal(await getPrediction(db, young[young.length - 1]?.row.id ?? ''), undefined);
    });
  });

  it('drift reads (log pages newest first, windows, timeline, histogram) read the rows listPredictions lists', async () => {
    await withFerry(async (app) => {
      const logged = await populate(app);
      const db = app.database;
      const m = ofModel(logged, 'm');
      const [v1, v2] = logged.versions as [ModelVersion, ModelVersion];
      const newest = [...m].reverse();
      // A page row by data column: tensor rows spread over a, b, c; frame rows as their cells.
      const rowOf = (p: LoggedPrediction) => ({ inputs: p.inputs, outputs: p.outputs });
      const pages = async (version: number | undefined, sinceMs: number | undefined, last: number | undefined, maxRows?: number) => {
        const rows: { inputs: Record<string, unknown>; outputs: Record<string, unknown> }[] = [];
        const sizes: number[] = [];
        const read = await readLogPages(app, 'm', version, sinceMs, last, maxRows, (page) => {
          sizes.push(page.length);
          for (const r of page) rows.push({ inputs: pageInputs(r), outputs: JSON.parse(r.outputs) as Record<string, unknown> });
        });
        assert.equal(read.rows, rows.length);
        assert.ok(sizes.every((s) => s > 0 && s <= 1000), `page sizes ${sizes.join(',')}`);
        return { rows, capped: read.capped };
      };

      const all = await pages(undefined, undefined, undefined);
      assert.equal(all.capped, false);
      assert.deepEqual(all.rows, newest.map(rowOf), 'every row, newest first');
      const since = T0 + SPAN / 3;
      assert.deepEqual((await pages(2, since, undefined)).rows, newest.filter((p) => p.version === 2 && p.at >= since).map(rowOf), 'version 2 since');
      assert.deepEqual((await pages(1, undefined, 25)).rows, newest.filter((p) => p.version === 1).slice(0, 25).map(rowOf), 'the newest 25 of version 1');
      const capped = await pages(undefined, since, undefined, 1500);
      assert.equal(capped.capped, true);
      assert.deepEqual(capped.rows, newest.filter((p) => p.at >= since).slice(0, 1500).map(rowOf), 'the newest 1500');
      const under = await pages(undefined, since, undefined, 100_000);
      assert.equal(under.capped, false);
      assert.equal(under.rows.length, m.filter((p) => p.at >= since).length);
      await assert.rejects(readLogPages(app, 'm', undefined, undefined, 101, 100, () => undefined), /FERRY_E_REQUEST_LIMIT|limit/);

      // readLogWindow: the same rows as parsed JSON.
      const window = await readLogWindow(app, 'm', 2, since, undefined);
      assert.equal(window.capped, false);
      assert.deepEqual(window.rows.map((r) => ({ inputs: pageInputs({ inputs: JSON.stringify(r.inputs), outputs: '{}' }), outputs: r.outputs })), newest.filter((p) => p.version === 2 && p.at >= since).map(rowOf));

      // The timeline and histogram of version 1 (their reads: newest first, one version, [since, until)).
      const v1Rows = m.filter((p) => p.version === 1);
      const values = (rows: readonly LoggedPrediction[], name: string) => rows.map((p) => p.inputs[name]);
      const profile = buildProfile(new Map(['a', 'b', 'c'].map((name) => [name, values(v1Rows, name)])), new Map(), v1Rows.length);
      await saveProfile(db, { model: 'm', version: 1, source: 'test', createdBy: 'test', createdAt: new Date(T0).toISOString(), inputs: { x: ['a', 'b', 'c'] }, profile });
      const span = { sinceMs: T0 - 60_000, untilMs: T0 + SPAN + 60_000, windows: 12 };
      const timeline = await driftTimeline(app, v1, span);
      assert.equal(timeline.capped, false);
      assert.equal(timeline.rows, v1Rows.length);
      const width = (span.untilMs - span.sinceMs) / span.windows;
      assert.deepEqual(timeline.windows.map((w) => [w.from, w.to, w.rows]), Array.from({ length: span.windows }, (_, i) => {
        const from = span.sinceMs + i * width;
        return [from, from + width, v1Rows.filter((p) => p.at >= from && p.at < from + width).length];
      }));
      const inner = { sinceMs: T0 + 120_000, untilMs: T0 + 240_000, windows: 4 };
      assert.equal((await driftTimeline(app, v1, inner)).rows, matching(v1Rows, { since: inner.sinceMs, until: inner.untilMs }).length);

      // The histograms of a window whose newest row is a tensor row and of one whose newest row is a frame row
      // (logColumns once lost the frame rows' values of the spread columns when a frame row came first).
      const newestIsFrame = (until: number) => matching(v1Rows, { since: T0 + 100_000, until }).at(-1)?.inputs.k !== undefined;
      for (const kind of ['tensor', 'frame'] as const) {
        const ats = logged.rows.filter((e) => e.kind === kind && e.row.version === 1 && e.row.at > T0 + 400_000).map((e) => e.row.at + 1);
        const until = ats.find((u) => newestIsFrame(u) === (kind === 'frame')) as number;
        assert.ok(until !== undefined, `a window whose newest row is a ${kind} row`);
        const windowRows = matching(v1Rows, { since: T0 + 100_000, until });
        for (const feature of ['a', 'c']) {
          const histogram = await featureHistogram(app, v1, feature, T0 + 100_000, until);
          assert.deepEqual(histogram, histogramOf(feature, profile.features[feature]!, values(windowRows, feature)), `histogram of ${feature} (newest row: ${kind})`);
          assert.equal(histogram?.currentRows, windowRows.length);
        }
      }

      // A drift report over the log counts the rows of the window.
      const report = await driftReport(app, v1, { kind: 'log', sinceMs: since });
      assert.equal(report.currentRows, matching(v1Rows, { since }).length);
      assert.equal((await driftReport(app, v1, { kind: 'log', last: 40 })).currentRows, 40);
      await assert.rejects(driftReport(app, v2, { kind: 'log' }), /FERRY_E_PROFILE_NOT_FOUND|profile/);
    });
  });
});
