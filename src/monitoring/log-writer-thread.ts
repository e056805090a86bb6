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
import { RawRowText, RawViews } from './log-encode.js';
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
  /** Raw layouts by number, each with the encoder that rebuilds its rows' JSON. */
  const layouts = new Map<number, RawRowText>();
  let raw: RawViews | undefined;

  /** Cut row `r` of the batch into the bound parameters `out[o … o + 10]`, reading the text from `at` on. */
  const fill = (out: unknown[], o: number, text: string, nums: Float64Array, r: number): void => {
    let e = text.indexOf(FIELD, at); out[o] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 1] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 4] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 5] = text.slice(at, e); at = e + 1;
    e = text.indexOf(FIELD, at); out[o + 6] = text.slice(at, e); at = e + 1;
    e = text.indexOf(ROW, at); if (e < 0) e = text.length; out[o + 10] = e > at ? text.slice(at, e) : null; at = e + 1;
    const n = r * NUMS_PER_ROW;
    const layout = nums[n + 5] as number;
    if (layout >= 0) {
      const known = layouts.get(layout);
      if (!known || !raw) throw ferry('FERRY_E_INTERNAL', { detail: `raw prediction-log row of unknown layout ${layout}` });
      [out[o + 5], out[o + 6]] = known.row(raw, nums[n + 6] as number);
    }
    const confidence = nums[n + 3] as number;
    out[o + 2] = nums[n]; out[o + 3] = nums[n + 1]; out[o + 7] = nums[n + 2]; out[o + 8] = Number.isNaN(confidence) ? null : confidence; out[o + 9] = nums[n + 4];
  };

  const insert = db.transaction((text: string, nums: Float64Array, rows: number, { many, one }: typeof plain) => {
    at = 0;
    let i = 0;
    for (; i + CHUNK <= rows; i += CHUNK) {
      for (let r = 0; r < CHUNK; r++) fill(chunk, r * COLUMNS, text, nums, i + r);
      many.run(chunk);
    }
    for (; i < rows; i++) {
      fill(row, 0, text, nums, i);
      one.run(row);
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
      for (const [n, layout] of m.layouts) layouts.set(n, new RawRowText(layout));
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
