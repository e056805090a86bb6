/**
 * The prediction log's SQLite writer thread: a connection of its own, each INSERT prepared
 * once, every batch in one IMMEDIATE transaction. `synchronous = NORMAL` (WAL): a power cut may
 * lose the newest batches of the log, never corrupt the registry. Started by log-sink.ts.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ferry } from '../core/errors.js';
import { blockOffsets, ID_LENGTH, idMs, layoutKey, MAX_BLOCK_SPAN_MS } from './log-block.js';
import { RawRowText, RawViews, type RawLayout } from './log-encode.js';
import { FIELD, NUMS_PER_ROW, ROW, type WriterReply, type WriterRequest, type WriterThreadData } from './log-writer-protocol.js';

const COLUMNS = 11;
/** Rows per multi-row INSERT. */
const CHUNK = 128;

const port = parentPort;
if (port) {
  const { path, busyTimeoutMs, nice } = workerData as WriterThreadData;
  lowerPriority(nice);
  const db = new Database(path);
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -16000');
  const head = 'insert into prediction_log (id, model_name, version, at, source, inputs, outputs, latency_ms, confidence, low_confidence, attributions) values ';
  const tuple = `(${new Array<string>(COLUMNS).fill('?').join(', ')})`;
  // Ids made elsewhere (edge packages' reports) may come twice when a post is retried: the first is
  // kept. A batch is written with plain INSERTs (the upsert clause costs ~1 µs a row) and, should
  // an id be there already, written again in the same transaction's place with `on conflict do nothing`.
  const tail = ' on conflict (id) do nothing';
  const statements = (conflict: string) => ({ many: db.prepare(head + new Array<string>(CHUNK).fill(tuple).join(', ') + conflict), one: db.prepare(head + tuple + conflict) });
  const plain = statements('');
  const tolerant = statements(tail);
  // Two reused parameter arrays: no per-row array, no slice.
  const chunk = new Array<unknown>(CHUNK * COLUMNS);
  const row = new Array<unknown>(COLUMNS);
  let at = 0;
  /** Raw layouts by number, each with the encoder that rebuilds its rows' JSON and its key in `prediction_layout`. */
  const layouts = new Map<number, { text: RawRowText; layout: RawLayout; json: string; key: string }>();
  let raw: RawViews | undefined;
  const saveLayout = db.prepare('insert into prediction_layout (key, layout) values (?, ?) on conflict (key) do nothing');
  const saveBlock = db.prepare('insert into prediction_block (model_name, version, first_at, last_at, id_min, id_max, rows, low, layout, sources, data) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');

  // The fields of the row being read (cut from the batch's text with indexOf, no array per row).
  let id = '';
  let model = '';
  let source = '';
  let inputs = '';
  let outputs = '';
  let attributions = '';
  /** Read the next row's text fields, from `at` on. */
  const next = (text: string): void => {
    let e = text.indexOf(FIELD, at); id = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); model = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); source = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); inputs = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); outputs = text.slice(at, e); at = e + 1;
    e = text.indexOf(ROW, at); if (e < 0) e = text.length; attributions = text.slice(at, e); at = e + 1;
  };

  /** Row `r` (its text fields just read) as the bound parameters `out[o … o + 10]` of a row INSERT. */
  const fill = (out: unknown[], o: number, nums: Float64Array, r: number): void => {
    out[o] = id; out[o + 1] = model; out[o + 4] = source; out[o + 5] = inputs; out[o + 6] = outputs; out[o + 10] = attributions === '' ? null : attributions;
    const n = r * NUMS_PER_ROW;
    const layout = nums[n + 5] as number;
    if (layout >= 0) {
      const known = layouts.get(layout);
      if (!known || !raw) throw ferry('FERRY_E_INTERNAL', { detail: `raw prediction-log row of unknown layout ${layout}` });
      [out[o + 5], out[o + 6]] = known.text.row(raw, nums[n + 6] as number);
    }
    const confidence = nums[n + 3] as number;
    out[o + 2] = nums[n]; out[o + 3] = nums[n + 1]; out[o + 7] = nums[n + 2]; out[o + 8] = Number.isNaN(confidence) ? null : confidence; out[o + 9] = nums[n + 4];
  };

  const insert = db.transaction((text: string, nums: Float64Array, rows: number, { many, one }: typeof plain) => {
    at = 0;
    let pending = 0;
    const groups = new Map<string, BlockGroup>();
    for (let r = 0; r < rows; r++) {
      next(text);
      const n = r * NUMS_PER_ROW;
      const layout = nums[n + 5] as number;
      // A generated id, numeric tensors, no explanation: the row goes into its batch's block.
      if (layout >= 0 && id.length === ID_LENGTH && attributions === '') {
        const key = `${model}\u0000${nums[n]}\u0000${layout}`;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, group = { model, version: nums[n] as number, layout, rows: [], ids: [], sources: [] });
        group.rows.push(r);
        group.ids.push(id);
        group.sources.push(source);
        continue;
      }
      fill(chunk, pending * COLUMNS, nums, r);
      if (++pending === CHUNK) {
        many.run(chunk);
        pending = 0;
      }
    }
    for (let i = 0; i < pending; i++) {
      for (let j = 0; j < COLUMNS; j++) row[j] = chunk[i * COLUMNS + j];
      one.run(row);
    }
    const saved = new Set<number>();
    for (const group of groups.values()) {
      const known = layouts.get(group.layout);
      if (!known || !raw) throw ferry('FERRY_E_INTERNAL', { detail: `raw prediction-log row of unknown layout ${group.layout}` });
      if (!saved.has(group.layout)) {
        saveLayout.run(known.key, known.json);
        saved.add(group.layout);
      }
      for (const block of encodeBlocks(group, nums, raw, known.layout.bytes)) {
        saveBlock.run(group.model, group.version, block.firstAt, block.lastAt, block.idMin, block.idMax, block.rows, block.low, known.key, block.sources, block.data);
      }
    }
  });

  port.on('message', (m: WriterRequest) => {
    if ('close' in m) {
      db.close();
      port.close();
      return;
    }
    let reply: WriterReply;
    try {
      for (const [n, layout] of m.layouts) {
        const json = JSON.stringify(layout);
        layouts.set(n, { text: new RawRowText(layout), layout, json, key: layoutKey(json) });
      }
      raw = m.raw ? new RawViews(m.raw) : undefined;
      const text = Buffer.from(m.text, 0, m.textBytes).toString('utf8');
      const nums = new Float64Array(m.nums);
      try {
        insert.immediate(text, nums, m.rows, plain);
      } catch (err) {
        // The transaction rolled back: nothing of the batch is written yet.
        if (!String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')) throw err;
        insert.immediate(text, nums, m.rows, tolerant);
      }
      reply = { id: m.id, ok: true };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      reply = { id: m.id, ok: false, ...(typeof code === 'string' ? { code } : {}), message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}

/** One batch's block rows of one model version and layout, in logging order. */
interface BlockGroup {
  readonly model: string;
  readonly version: number;
  readonly layout: number;
  /** Row numbers in the batch. */
  readonly rows: number[];
  readonly ids: string[];
  readonly sources: string[];
}

interface EncodedBlock {
  readonly firstAt: number;
  readonly lastAt: number;
  readonly idMin: string;
  readonly idMax: string;
  readonly rows: number;
  readonly low: number;
  readonly sources: string;
  readonly data: Buffer;
}

/** Rows per block at most (a batch holds `flush_rows`, 1 000 by default). */
const MAX_BLOCK_ROWS = 65_536;

/**
 * A group's rows as blocks (log-block.ts): usually one; another starts where the rows would span
 * more than MAX_BLOCK_SPAN_MS in time or in their ids' milliseconds (readers rely on that bound).
 */
function encodeBlocks(group: BlockGroup, nums: Float64Array, raw: RawViews, rowBytes: number): EncodedBlock[] {
  const out: EncodedBlock[] = [];
  let start = 0;
  while (start < group.rows.length) {
    const t0 = nums[group.rows[start]! * NUMS_PER_ROW + 1]!;
    const i0 = idMs(group.ids[start]!);
    let lo = t0;
    let hi = t0;
    let end = start + 1;
    const sources = new Set([group.sources[start]]);
    for (; end < group.rows.length && end - start < MAX_BLOCK_ROWS; end++) {
      // A block numbers its sources in one byte.
      if (!sources.has(group.sources[end]) && sources.add(group.sources[end]).size > 256) break;
      const t = nums[group.rows[end]! * NUMS_PER_ROW + 1]!;
      const ms = idMs(group.ids[end]!);
      if (Math.max(hi, t) - Math.min(lo, t) > MAX_BLOCK_SPAN_MS || !(Math.abs(ms - i0) <= MAX_BLOCK_SPAN_MS)) break;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    out.push(encodeBlock(group, start, end, nums, raw, rowBytes));
    start = end;
  }
  return out;
}

function encodeBlock(group: BlockGroup, start: number, end: number, nums: Float64Array, raw: RawViews, rowBytes: number): EncodedBlock {
  const rows = end - start;
  const o = blockOffsets(rows, rowBytes);
  const buffer = new ArrayBuffer(o.end);
  const data = Buffer.from(buffer);
  data.writeUInt32LE(1, 0);
  data.writeUInt32LE(rows, 4);
  const at = new Float64Array(buffer, o.at, rows);
  const latency = new Float64Array(buffer, o.latency, rows);
  const confidence = new Float64Array(buffer, o.confidence, rows);
  const sourceNames: string[] = [];
  let low = 0;
  let first = Infinity;
  let last = -Infinity;
  let idMin = group.ids[start]!;
  let idMax = idMin;
  for (let k = 0; k < rows; k++) {
    const n = group.rows[start + k]! * NUMS_PER_ROW;
    const t = nums[n + 1]!;
    at[k] = t;
    if (t < first) first = t;
    if (t > last) last = t;
    latency[k] = nums[n + 2]!;
    confidence[k] = nums[n + 3]!;
    const flag = nums[n + 4] === 1 ? 1 : 0;
    data[o.low + k] = flag;
    low += flag;
    const source = group.sources[start + k]!;
    let s = sourceNames.indexOf(source);
    if (s < 0) s = sourceNames.push(source) - 1;
    data[o.source + k] = s;
    const rowId = group.ids[start + k]!;
    data.write(rowId, o.ids + ID_LENGTH * k, 'latin1');
    if (rowId < idMin) idMin = rowId;
    if (rowId > idMax) idMax = rowId;
    const from = nums[n + 6]!;
    raw.bytes.copy(data, o.raw + rowBytes * k, from, from + rowBytes);
  }
  return { firstAt: Math.floor(first), lastAt: Math.ceil(last), idMin, idMax, rows, low, sources: JSON.stringify(sourceNames), data };
}

/**
 * Lower this thread's scheduling priority by `steps` below the process's (Linux: a thread is a
 * task with its own nice value, set through its thread id). When the cores are saturated, the
 * request threads then run first and the writer takes the time they leave; the log only lags
 * (the buffer and its shedding bound how far, and both are counted). Where threads cannot be
 * told apart (no /proc/thread-self) or the call is refused, the thread keeps the process's priority.
 */
function lowerPriority(steps: number): void {
  if (steps <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return;
    setPriority(tid, Math.min(19, getPriority(tid) + steps));
  } catch {
    // not Linux, or not allowed: the writer runs at the process's priority
  }
}
