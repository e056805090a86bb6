import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql, type Kysely } from '../vendor/kysely.js';
import { ferry } from '../core/errors.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import type { RegistryDatabase } from '../registry/schema.js';
import { DecodedBlock, ID_LENGTH, idMs, idPrefix, MAX_BLOCK_SPAN_MS, type PredictionBlockTable, type PredictionBlockTables } from './log-block.js';
import { RawRowText, RawViews, type RawLayout } from './log-encode.js';
import type { PredictionLogTable, PredictionLogTables } from './prediction-log-store.js';

/**
 * Reading the prediction log as stored: the `prediction_log` table and, on SQLite, the blocks
 * (log-block.ts), merged into one sequence ordered by `(at, id)` — oldest or newest first. Rows
 * come back as the table holds them (inputs and outputs as JSON text), so every reader decodes
 * both sources alike (prediction-log-store.ts, drift).
 */

export type LogDatabase = RegistryDatabase & PredictionLogTables & PredictionBlockTables;
export type LogKysely = Kysely<LogDatabase>;

/** A row as stored, `at` a number (blocks' rows are built in this shape). */
export type StoredRow = PredictionLogTable & { at: number };

/** The row filters of a scan (times in epoch ms). */
export interface ScanFilter {
  readonly model: string;
  readonly version?: number | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  readonly labelled?: boolean | undefined;
  readonly lowConfidence?: boolean | undefined;
  readonly explained?: boolean | undefined;
}

/** A position in `(at, id)` order. */
export interface LogKey {
  readonly at: number;
  readonly id: string;
}

export interface ScanOptions {
  /** Start at this key (included when `inclusive`), in the scan's direction. */
  readonly from?: (LogKey & { readonly inclusive: boolean }) | undefined;
  /** Rows per page (and per table query). */
  readonly pageSize: number;
  /** Build block rows' inputs and outputs text (false: '' — for scans that only count or find keys). */
  readonly texts: boolean;
}

/** Whether the registry holds blocks: SQLite (log-block.ts). */
export function hasBlocks(db: RegistryDb): boolean {
  return db.capabilities.file !== undefined;
}

export function logKysely(db: RegistryDb): LogKysely {
  return db.kysely.withTables<PredictionLogTables & PredictionBlockTables>();
}

/** The table's rows matching the filter (no order, no keyset). */
export function filtered(k: LogKysely, f: ScanFilter) {
  let q = k.selectFrom('prediction_log').where('model_name', '=', f.model);
  if (f.version !== undefined) q = q.where('version', '=', f.version);
  if (f.since !== undefined) q = q.where('at', '>=', f.since);
  if (f.until !== undefined) q = q.where('at', '<', f.until);
  if (f.labelled !== undefined) q = q.where('actual', f.labelled ? 'is not' : 'is', null);
  if (f.lowConfidence !== undefined) q = q.where('low_confidence', '=', f.lowConfidence ? 1 : 0);
  if (f.explained !== undefined) q = q.where('attributions', f.explained ? 'is not' : 'is', null);
  return q;
}

/** Whether a filter can match block rows: they carry no ground truth and no explanation. */
function blocksMatch(f: ScanFilter): boolean {
  return f.labelled !== true && f.explained !== true;
}

const ascending = (a: LogKey, b: LogKey): number => (a.at - b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const descending = (a: LogKey, b: LogKey): number => ascending(b, a);

/**
 * Every stored row matching `f`, in pages, ordered by `(at, id)` (`asc`: oldest first). The table
 * is read by keyset pages; blocks are loaded in the order of their first (asc) or last (desc)
 * time, each as soon as its rows could come next, and their rows merged in.
 */
export async function* scanLog(db: RegistryDb, f: ScanFilter, dir: 'asc' | 'desc', options: ScanOptions, k: LogKysely = logKysely(db)): AsyncGenerator<StoredRow[]> {
  const asc = dir === 'asc';
  const order = asc ? ascending : descending;
  const table = tablePages(db, k, f, dir, options);
  const blocks = hasBlocks(db) && blocksMatch(f) ? blockPages(db, k, f, dir, options.from) : undefined;
  const reader = new BlockRows(db, k, options.texts);
  let tRows: StoredRow[] = [];
  let ti = 0;
  let tDone = false;
  let bMeta: PredictionBlockTable[] = [];
  let bi = 0;
  let bDone = blocks === undefined;
  let pending: StoredRow[] = [];
  let pi = 0;
  let out: StoredRow[] = [];
  const from = options.from;
  const keep = (r: StoredRow): boolean => {
    if (f.since !== undefined && r.at < f.since) return false;
    if (f.until !== undefined && r.at >= f.until) return false;
    if (f.lowConfidence !== undefined && (r.low_confidence === 1) !== f.lowConfidence) return false;
    if (from !== undefined) {
      const c = order(r, from);
      if (c < 0 || (c === 0 && !from.inclusive)) return false;
    }
    return true;
  };
  for (;;) {
    if (ti >= tRows.length && !tDone) {
      const next = await table.next();
      tDone = next.done === true;
      tRows = next.done ? [] : next.value;
      ti = 0;
    }
    if (bi >= bMeta.length && !bDone) {
      const next = await blocks!.next();
      bDone = next.done === true;
      bMeta = next.done ? [] : next.value;
      bi = 0;
    }
    const t = ti < tRows.length ? tRows[ti] : undefined;
    const p = pi < pending.length ? pending[pi] : undefined;
    const head = t !== undefined && p !== undefined ? (order(t, p) <= 0 ? t : p) : (t ?? p);
    const block = bi < bMeta.length ? bMeta[bi] : undefined;
    // The next block could hold a row before `head`: load it first.
    if (block !== undefined && (head === undefined || (asc ? block.first_at <= head.at : block.last_at >= head.at))) {
      bi++;
      const rows = (await reader.rows(block)).filter(keep);
      if (rows.length > 0) {
        pending = pending.slice(pi).concat(rows).sort(order);
        pi = 0;
      }
      continue;
    }
    if (head === undefined) break;
    if (head === t) ti++;
    else pi++;
    out.push(head);
    if (out.length >= options.pageSize) {
      yield out;
      out = [];
      // Block pages, like table pages, resolve without giving the event loop a turn: give it one
      // between pages, so a long read inside the server never holds requests for more than a page.
      await nextTurn();
    }
  }
  if (out.length > 0) yield out;
}

/** The table's matching rows by keyset pages in `(at, id)` order. */
async function* tablePages(db: RegistryDb, k: LogKysely, f: ScanFilter, dir: 'asc' | 'desc', options: ScanOptions): AsyncGenerator<StoredRow[]> {
  let after = options.from;
  const asc = dir === 'asc';
  for (;;) {
    const from = after;
    const rows = await guarded(db, () => {
      let q = filtered(k, f);
      if (from !== undefined) {
        const op = asc ? (from.inclusive ? '>=' : '>') : (from.inclusive ? '<=' : '<');
        q = q.where(sql<boolean>`(at, id) ${sql.raw(op)} (${from.at}, ${from.id})`);
      }
      return q.selectAll().orderBy('at', dir).orderBy('id', dir).limit(options.pageSize).execute();
    });
    if (rows.length === 0) return;
    for (const r of rows) (r as StoredRow).at = Number(r.at);
    yield rows as StoredRow[];
    if (rows.length < options.pageSize) return;
    // A SQLite query resolves without giving the event loop a turn: give it one between pages.
    await nextTurn();
    const tail = rows[rows.length - 1] as StoredRow;
    after = { at: tail.at, id: tail.id, inclusive: false };
  }
}

/** Blocks per query: each holds up to a batch of rows (1 000 by default). */
const BLOCK_PAGE = 16;

/** The blocks that may hold matching rows, by first time (asc) or last time (desc), in pages. */
async function* blockPages(db: RegistryDb, k: LogKysely, f: ScanFilter, dir: 'asc' | 'desc', from: LogKey | undefined): AsyncGenerator<PredictionBlockTable[]> {
  const asc = dir === 'asc';
  const column = asc ? 'first_at' : 'last_at';
  let after: { t: number; seq: number } | undefined;
  // A block spans at most MAX_BLOCK_SPAN_MS: bounds on one end time give bounds on the other.
  const lower = Math.max(f.since ?? -Infinity, asc && from ? from.at : -Infinity);
  const upper = Math.min(f.until ?? Infinity, !asc && from ? from.at + 1 : Infinity);
  for (;;) {
    const cursor = after;
    const rows = await guarded(db, () => {
      let q = k.selectFrom('prediction_block').selectAll().where('model_name', '=', f.model);
      if (f.version !== undefined) q = q.where('version', '=', f.version);
      if (Number.isFinite(lower)) q = q.where('last_at', '>=', Math.floor(lower)).where('first_at', '>=', Math.floor(lower) - MAX_BLOCK_SPAN_MS - 2);
      if (Number.isFinite(upper)) q = q.where('first_at', '<', Math.ceil(upper)).where('last_at', '<', Math.ceil(upper) + MAX_BLOCK_SPAN_MS + 2);
      if (cursor !== undefined) q = q.where(sql<boolean>`(${sql.ref(column)}, seq) ${sql.raw(asc ? '>' : '<')} (${cursor.t}, ${cursor.seq})`);
      return q.orderBy(column, dir).orderBy('seq', dir).limit(BLOCK_PAGE).execute();
    });
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < BLOCK_PAGE) return;
    const tail = rows[rows.length - 1]!;
    after = { t: Number(tail[column]), seq: Number(tail.seq) };
  }
}

/** Block rows as stored rows: layouts and their encoders read once per scan. */
export class BlockRows {
  readonly #db: RegistryDb;
  readonly #k: LogKysely;
  readonly #texts: boolean;
  readonly #layouts = new Map<string, { layout: RawLayout; text: RawRowText }>();

  constructor(db: RegistryDb, k: LogKysely, texts: boolean) {
    this.#db = db;
    this.#k = k;
    this.#texts = texts;
  }

  async #layout(key: string): Promise<{ layout: RawLayout; text: RawRowText }> {
    let known = this.#layouts.get(key);
    if (known === undefined) {
      const row = await guarded(this.#db, () => this.#k.selectFrom('prediction_layout').select('layout').where('key', '=', key).executeTakeFirst());
      if (!row) throw ferry('FERRY_E_INTERNAL', { detail: `a prediction log block refers to layout ${key}, which the database does not hold` });
      const layout = JSON.parse(row.layout) as RawLayout;
      known = { layout, text: new RawRowText(layout) };
      this.#layouts.set(key, known);
    }
    return known;
  }

  async decode(block: PredictionBlockTable): Promise<{ decoded: DecodedBlock; text: RawRowText }> {
    const { layout, text } = await this.#layout(block.layout);
    return { decoded: new DecodedBlock(block.data, block.dead, layout.bytes), text };
  }

  /** The block's rows still in it (not moved to the table), in block order. */
  async rows(block: PredictionBlockTable): Promise<StoredRow[]> {
    const { decoded, text } = await this.decode(block);
    const sources = JSON.parse(block.sources) as string[];
    const views = this.#texts ? new RawViews(decoded.raw()) : undefined;
    const out: StoredRow[] = [];
    for (let r = 0; r < decoded.rows; r++) {
      if (decoded.dead(r)) continue;
      out.push(blockRow(block, decoded, r, sources, views ? text.row(views, decoded.rawOffset(r)) : ['', '']));
    }
    return out;
  }

  /** Row `r` of a block with its texts. */
  async row(block: PredictionBlockTable, decoded: DecodedBlock, r: number): Promise<StoredRow> {
    const { text } = await this.#layout(block.layout);
    return blockRow(block, decoded, r, JSON.parse(block.sources) as string[], text.row(new RawViews(decoded.raw()), decoded.rawOffset(r)));
  }
}

function blockRow(block: PredictionBlockTable, d: DecodedBlock, r: number, sources: readonly string[], [inputs, outputs]: readonly [string, string]): StoredRow {
  const confidence = d.confidence[r]!;
  return {
    id: d.id(r), model_name: block.model_name, version: Number(block.version), at: d.at[r]!, source: sources[d.source[r]!] ?? '',
    inputs, outputs, latency_ms: d.latency[r]!, confidence: Number.isNaN(confidence) ? null : confidence, low_confidence: d.low[r]!,
    actual: null, actual_at: null, attributions: null,
  };
}

/** A block row found by id: its block, decoded, and the row's number. */
export interface FoundBlockRow {
  readonly block: PredictionBlockTable;
  readonly decoded: DecodedBlock;
  readonly row: number;
}

/**
 * Where generated ids sit in blocks: each id's block is among those whose id range holds it and
 * that start at most MAX_BLOCK_SPAN_MS before it. Ids of moved-out rows are not found here.
 */
export async function findInBlocks(db: RegistryDb, k: LogKysely, ids: readonly string[], reader: BlockRows): Promise<Map<string, FoundBlockRow>> {
  const found = new Map<string, FoundBlockRow>();
  if (!hasBlocks(db)) return found;
  const decoded = new Map<number, DecodedBlock>();
  for (const id of ids) {
    const ms = idMs(id);
    if (id.length !== ID_LENGTH || !Number.isFinite(ms)) continue;
    const blocks = await guarded(db, () => k.selectFrom('prediction_block').selectAll()
      .where('id_min', '<=', id).where('id_min', '>=', idPrefix(ms - MAX_BLOCK_SPAN_MS)).where('id_max', '>=', id).execute());
    for (const block of blocks) {
      const seq = Number(block.seq);
      let d = decoded.get(seq);
      if (d === undefined) decoded.set(seq, d = (await reader.decode(block)).decoded);
      const r = d.find(id);
      if (r >= 0 && !d.dead(r)) {
        found.set(id, { block, decoded: d, row: r });
        break;
      }
    }
  }
  return found;
}
