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
import { BLOCK_FORMAT, blockOffsets, ID_LENGTH, layoutKey, MAX_BLOCK_SPAN_MS } from './log-block.js';
import type { RawLayout } from './log-encode.js';
import { FIELD, NUMS_PER_ROW, RAW_ID_BYTES, ROW, type WriterReply, type WriterRequest, type WriterThreadData } from './log-writer-protocol.js';

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
  /** Raw layouts by number, with their JSON and key in `prediction_layout`. */
  const layouts = new Map<number, { layout: RawLayout; json: string; key: string }>();
  let raw: Buffer | undefined;
  let names: readonly string[] = [];
  const saveLayout = db.prepare('insert into prediction_layout (key, layout) values (?, ?) on conflict (key) do nothing');
  const saveBlock = db.prepare('insert into prediction_block (model_name, version, first_at, last_at, id_min, id_max, rows, low, layout, sources, data) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');

  /** The next text row's fields (cut from the batch's text with indexOf, no array per row) as the bound parameters `out[o … o + 10]`. */
  const fill = (out: unknown[], o: number, text: string, nums: Float64Array, r: number): void => {
    let e = text.indexOf(FIELD, at); out[o] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 1] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 4] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 5] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 6] = text.slice(at, e); at = e + 1;
    e = text.indexOf(ROW, at); if (e < 0) e = text.length; out[o + 10] = e > at ? text.slice(at, e) : null; at = e + 1;
    const n = r * NUMS_PER_ROW;
    const confidence = nums[n + 3] as number;
    out[o + 2] = nums[n]; out[o + 3] = nums[n + 1]; out[o + 7] = nums[n + 2]; out[o + 8] = Number.isNaN(confidence) ? null : confidence; out[o + 9] = nums[n + 4];
  };

  const insert = db.transaction((text: string, nums: Float64Array, rows: number, { many, one }: typeof plain) => {
    at = 0;
    let pending = 0;
    // Raw rows by model version and layout, each group a block (or more: encodeBlocks).
    const groups = new Map<number, BlockGroup>();
    for (let r = 0; r < rows; r++) {
      const n = r * NUMS_PER_ROW;
      const layout = nums[n + 5] as number;
      if (layout >= 0) {
        const model = nums[n + 7] as number;
        const version = nums[n] as number;
        // One number per (model, version, layout): versions and layouts stay far below 2^20.
        const key = (model * 1_048_576 + version) * 1_048_576 + layout;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, group = { model: names[model] ?? '', version, layout, rows: [] });
        group.rows.push(r);
        continue;
      }
      fill(chunk, pending * COLUMNS, text, nums, r);
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
      for (const block of encodeBlocks(group, nums, raw, names, known.layout.bytes)) {
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
        layouts.set(n, { layout, json, key: layoutKey(json) });
      }
      raw = m.raw ? Buffer.from(m.raw) : undefined;
      names = m.names;
      const text = Buffer.from(m.text, 0, m.textBytes).toString('utf8');
      const nums = new Float64Array(m.nums);
      try {
        insert.immediate(text, nums, m.rows, plain);
      } catch (err) {
        // The transaction rolled back: nothing of the batch is written yet.
        if (!String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')) throw err;
        insert.immediate(text, nums, m.rows, tolerant);
      }
      // The raw buffer goes back to the sink for a later batch (moved, not copied).
      reply = m.raw ? { id: m.id, ok: true, raw: m.raw } : { id: m.id, ok: true };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      reply = { id: m.id, ok: false, ...(typeof code === 'string' ? { code } : {}), message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, reply.raw ? [reply.raw] : []);
  });
}

/** One batch's raw rows of one model version and layout, in logging order. */
interface BlockGroup {
  readonly model: string;
  readonly version: number;
  readonly layout: number;
  /** Row numbers in the batch. */
  readonly rows: number[];
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

/** The millisecond time of the uuid v7 at `o` in `b` (`xxxxxxxx-xxxx-…`, ASCII hex), or NaN. */
function idMsAt(b: Buffer, o: number): number {
  let ms = 0;
  for (let i = 0; i < 13; i++) {
    if (i === 8) continue;
    const c = b[o + i]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return Number.NaN;
    ms = ms * 16 + d;
  }
  return ms;
}

/**
 * A group's rows as blocks (log-block.ts): usually one; another starts where the rows would span
 * more than MAX_BLOCK_SPAN_MS in time or in their ids' milliseconds (readers rely on that bound),
 * or would name more than 256 sources.
 */
function encodeBlocks(group: BlockGroup, nums: Float64Array, raw: Buffer, names: readonly string[], rowBytes: number): EncodedBlock[] {
  const out: EncodedBlock[] = [];
  let start = 0;
  while (start < group.rows.length) {
    const n0 = group.rows[start]! * NUMS_PER_ROW;
    const i0 = idMsAt(raw, nums[n0 + 6]!);
    let lo = nums[n0 + 1]!;
    let hi = lo;
    const sources = new Set([nums[n0 + 8]]);
    let end = start + 1;
    for (; end < group.rows.length && end - start < MAX_BLOCK_ROWS; end++) {
      const n = group.rows[end]! * NUMS_PER_ROW;
      const t = nums[n + 1]!;
      if (Math.max(hi, t) - Math.min(lo, t) > MAX_BLOCK_SPAN_MS || !(Math.abs(idMsAt(raw, nums[n + 6]!) - i0) <= MAX_BLOCK_SPAN_MS)) break;
      if (!sources.has(nums[n + 8]) && sources.add(nums[n + 8]).size > 256) break;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    out.push(encodeBlock(group, start, end, nums, raw, names, rowBytes));
    start = end;
  }
  return out;
}

function encodeBlock(group: BlockGroup, start: number, end: number, nums: Float64Array, raw: Buffer, names: readonly string[], rowBytes: number): EncodedBlock {
  const rows = end - start;
  const o = blockOffsets(rows, rowBytes);
  const buffer = new ArrayBuffer(o.end);
  const data = Buffer.from(buffer);
  data.writeUInt32LE(BLOCK_FORMAT, 0);
  data.writeUInt32LE(rows, 4);
  const at = new Float64Array(buffer, o.at, rows);
  const latency = new Float64Array(buffer, o.latency, rows);
  const confidence = new Float64Array(buffer, o.confidence, rows);
  const stride = RAW_ID_BYTES + rowBytes;
  const sourceNumbers: number[] = [];
  let low = 0;
  let first = Infinity;
  let last = -Infinity;
  // Consecutive rows of the sink's buffer are consecutive in the block: copied as one run.
  let runFrom = -1;
  let runTo = -1;
  let runAt = o.rows;
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
    const source = nums[n + 8]!;
    let s = source === sourceNumbers[0] ? 0 : sourceNumbers.indexOf(source);
    if (s < 0) s = sourceNumbers.push(source) - 1;
    data[o.source + k] = s;
    const from = nums[n + 6]!;
    if (from !== runTo) {
      if (runTo > runFrom) runAt += raw.copy(data, runAt, runFrom, runTo);
      runFrom = from;
    }
    runTo = from + stride;
  }
  if (runTo > runFrom) raw.copy(data, runAt, runFrom, runTo);
  // A process's generated ids only grow (predictionIds), so in logging order the first is the least.
  const head = nums[group.rows[start]! * NUMS_PER_ROW + 6]!;
  const tail = nums[group.rows[end - 1]! * NUMS_PER_ROW + 6]!;
  return {
    firstAt: Math.floor(first), lastAt: Math.ceil(last), idMin: raw.toString('latin1', head, head + ID_LENGTH), idMax: raw.toString('latin1', tail, tail + ID_LENGTH),
    rows, low, sources: JSON.stringify(sourceNumbers.map((x) => names[x] ?? '')), data,
  };
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
