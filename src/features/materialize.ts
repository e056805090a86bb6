import type { DuckDBValue } from '@duckdb/node-api';
import { duckCell, openDuckDb, sqlString, type DuckDb } from '../batch/duckdb.js';
import { ferry, FerryError } from '../core/errors.js';
import type { Cell } from '../core/frame.js';
import type { EntityDecl, ViewDecl } from './declarations.js';
import type { OnlineStore, Progress, StoredRow } from './online-store.js';
import { viewRelation } from './source-sql.js';

export interface MaterializeOptions {
  /** Load values with event time ≤ this (ms); default now, or the until of a run in progress. */
  readonly until?: number | undefined;
  /** Entities per committed chunk. */
  readonly chunkSize?: number | undefined;
  /** Ignore the watermark: re-read the whole source (rows that came later than the view's lateness allows). */
  readonly full?: boolean | undefined;
  /** Called after each chunk commits. */
  readonly onChunk?: ((progress: { view: string; rows: number; afterKey: string | null }) => void) | undefined;
}

export interface MaterializeResult {
  readonly view: string;
  /** Entities written by this process (a resumed run counts only its own). */
  readonly rows: number;
  /** Entities written by the whole run, across resumes. */
  readonly runRows: number;
  readonly from: number | null;
  readonly until: number;
  readonly resumed: boolean;
}

/** A number from DuckDB (BIGINT comes as bigint). */
/** A DuckDB error's message without the native stack trace it may carry. */
export function duckMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n\nStack Trace')[0] ?? text;
}

function toNumber(v: DuckDBValue): number {
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

/** A stored value: JSON-safe (bigints as numbers when exact, text otherwise). */
function storedCell(v: DuckDBValue): Cell {
  const c = duckCell(v);
  if (typeof c === 'bigint') return Number.isSafeInteger(Number(c)) ? Number(c) : c.toString();
  return c;
}

/**
 * Load the latest value per entity of one view into the online store: the rows with
 * `watermark < event time ≤ until` and within ttl of `until`, latest per entity, read by
 * DuckDB ordered by entity key and committed `chunkSize` entities at a time together with the
 * view's progress. A killed run resumes after its last committed entity; the watermark moves to
 * `until` when the last chunk is in.
 */
export async function materializeView(store: OnlineStore, view: ViewDecl, entity: EntityDecl, options: MaterializeOptions = {}, duck?: DuckDb): Promise<MaterializeResult> {
  const chunkSize = options.chunkSize ?? 10_000;
  const saved: Progress = (await store.progress(view.name)) ?? { watermark: null };
  const resume = saved.run && (options.until === undefined || options.until === saved.run.until) ? saved.run : undefined;
  const until = resume?.until ?? options.until ?? Date.now();
  // A resumed run keeps the low bound it started with (its progress holds the watermark it read from).
  const watermark = options.full && !resume ? null : saved.watermark;
  if (watermark !== null && until <= watermark && view.latenessMs === 0 && !resume) return { view: view.name, rows: 0, runRows: 0, from: watermark, until: watermark, resumed: false };
  // Late rows (event time at or below the watermark, arrived after it moved) are re-read down to `watermark - lateness`:
  // the latest row per entity in that window is still its latest overall, so upserting it never goes back in time.
  const low = Math.max(watermark === null ? -Infinity : watermark - view.latenessMs, view.ttlMs === undefined ? -Infinity : until - view.ttlMs);
  const conditions = [`t <= ${until}`, ...(Number.isFinite(low) ? [`t > ${low}`] : [])];
  const after = resume?.afterKey ?? null;
  const columns = view.features;
  const own = duck ?? await openDuckDb();
  let written = 0;
  let runRows = resume?.rows ?? 0;
  let newest = saved.newest ?? null;
  try {
    const conn = await own.connect();
    await conn.run("set TimeZone='UTC'");
    // DuckDB 1.5's top-N window rewrite fails an internal assertion on this query shape.
    await conn.run("set disabled_optimizers='top_n_window_elimination'");
    let result;
    try {
      const relation = await viewRelation(conn, view, entity, { after: low, upTo: until });
      const sql = `select * from (select * from ${relation} where ${conditions.join(' and ')} qualify row_number() over (partition by k order by t desc) = 1)`
        + `${after === null ? '' : ` where k > ${sqlString(after)}`} order by k`;
      result = await conn.stream(sql);
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw ferry('FERRY_E_FEATURE_SOURCE', { view: view.name, detail: duckMessage(err) }, err);
    }
    let pending: StoredRow[] = [];
    const commit = async (): Promise<void> => {
      if (pending.length === 0) return;
      const afterKey = (pending[pending.length - 1] as StoredRow).key;
      runRows += pending.length;
      written += pending.length;
      for (const r of pending) if (newest === null || r.eventTime > newest) newest = r.eventTime;
      await store.write({ name: view.name, entity: view.entity }, pending, { watermark, run: { until, afterKey, rows: runRows }, ...(newest !== null ? { newest } : {}) });
      options.onChunk?.({ view: view.name, rows: runRows, afterKey });
      pending = [];
    };
    for (;;) {
      let chunk;
      try {
        chunk = await result.fetchChunk();
      } catch (err) {
        throw ferry('FERRY_E_FEATURE_SOURCE', { view: view.name, detail: duckMessage(err) }, err);
      }
      if (!chunk || chunk.rowCount === 0) break;
      for (const row of chunk.getRows()) {
        const values: Record<string, Cell> = {};
        columns.forEach((c, j) => { values[c] = storedCell(row[j + 2] ?? null); });
        pending.push({ key: String(row[0]), eventTime: toNumber(row[1] ?? 0), values });
        if (pending.length >= chunkSize) await commit();
      }
    }
    await commit();
    await store.setProgress(view.name, { watermark: Math.max(until, watermark ?? -Infinity), updatedAt: Date.now(), ...(newest !== null ? { newest } : {}) });
    return { view: view.name, rows: written, runRows, from: watermark, until, resumed: resume !== undefined };
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw ferry('FERRY_E_FEATURE_SOURCE', { view: view.name, detail: duckMessage(err) }, err);
  } finally {
    if (!duck) own.close();
  }
}
