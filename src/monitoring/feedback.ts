import { sql } from '../vendor/kysely.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import { markDead } from './log-block.js';
import { BlockRows, findInBlocks, hasBlocks, logKysely, type FoundBlockRow, type LogKysely } from './log-scan.js';

/** Ground truth for one logged prediction. `actual: null` removes a label given before. */
export interface FeedbackItem {
  readonly predictionId: string;
  readonly actual: unknown;
}

/** An item that could not be used, with the reason (the others are still attached). */
export interface FeedbackReject {
  /** 0-based position in the list (a file's reader turns it into a line number). */
  readonly index: number;
  readonly reason: string;
}

/** What feedback did: labels attached, ids not in the log (not fatal), malformed items. */
export interface FeedbackResult {
  readonly attached: number;
  readonly unknown: readonly string[];
  readonly rejected: readonly FeedbackReject[];
}

const CHUNK = 500;

/**
 * Check raw feedback items (`{"prediction_id": "…", "actual": …}`, from a request body or
 * a file's rows): the good ones become FeedbackItems, the rest rejects with a reason.
 */
export function parseFeedback(raw: readonly unknown[]): { items: FeedbackItem[]; rejected: FeedbackReject[] } {
  const items: FeedbackItem[] = [];
  const rejected: FeedbackReject[] = [];
  raw.forEach((r, index) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return rejected.push({ index, reason: 'each item must be an object {"prediction_id": "…", "actual": …}' });
    const { prediction_id: id, actual } = r as Record<string, unknown>;
    if (typeof id !== 'string' || id.trim() === '') return rejected.push({ index, reason: '"prediction_id" must be a non-empty string' });
    if (actual === undefined || actual === '') return rejected.push({ index, reason: `"actual" is missing for prediction ${id}` });
    if (typeof actual === 'number' && !Number.isFinite(actual)) return rejected.push({ index, reason: `"actual" of prediction ${id} is not a finite number` });
    return items.push({ predictionId: id.trim(), actual });
  });
  return { items, rejected };
}

/**
 * Attach ground truth to logged predictions by id: one `UPDATE … FROM (VALUES …)` per chunk of
 * 500, in one transaction; ids the log does not hold are returned in `unknown`. The last
 * value wins when an id is given twice.
 */
export async function attachFeedback(db: RegistryDb, items: readonly FeedbackItem[], now = Date.now()): Promise<{ attached: number; unknown: string[] }> {
  const byId = new Map<string, string | null>();
  for (const item of items) byId.set(item.predictionId, item.actual === null ? null : JSON.stringify(item.actual));
  const entries = [...byId.entries()];
  if (entries.length === 0) return { attached: 0, unknown: [] };
  const found = new Set<string>();
  const k = logKysely(db);
  await guarded(db, () => k.transaction().execute(async (trx) => {
    for (let start = 0; start < entries.length; start += CHUNK) {
      const part = entries.slice(start, start + CHUNK);
      const values = db.capabilities.valuesTable(part.map(([id, actual]) => sql`(${id}, ${actual})`), 'v', ['id', 'actual']);
      const query = sql<{ id: string }>`update prediction_log set actual = v.actual, actual_at = ${now} from ${values} where prediction_log.id = v.id returning prediction_log.id as id`;
      const { rows } = await query.execute(trx);
      for (const r of rows) found.add(r.id);
    }
    await moveOutOfBlocks(db, trx, entries.filter(([id]) => !found.has(id)), now, found);
  }));
  return { attached: found.size, unknown: entries.map(([id]) => id).filter((id) => !found.has(id)) };
}

/**
 * Ground truth for rows still in blocks (log-block.ts): each such row moves to `prediction_log`
 * with its label, and its block marks it gone, so readers see it once, from the table (where every
 * labelled row lives). A `null` label on a row never labelled changes nothing but is found.
 */
async function moveOutOfBlocks(db: RegistryDb, trx: LogKysely, entries: readonly (readonly [string, string | null])[], now: number, found: Set<string>): Promise<void> {
  if (entries.length === 0 || !hasBlocks(db)) return;
  const reader = new BlockRows(db, trx, true);
  const rows = await findInBlocks(db, trx, entries.map(([id]) => id), reader);
  const touched = new Map<number, { block: FoundBlockRow['block']; dead: Buffer | null; rows: number; low: number }>();
  for (const [id, actual] of entries) {
    const at = rows.get(id);
    if (at === undefined) continue;
    found.add(id);
    if (actual === null) continue;
    const row = await reader.row(at.block, at.decoded, at.row);
    await trx.insertInto('prediction_log').values({ ...row, actual, actual_at: now }).execute();
    const seq = Number(at.block.seq);
    let t = touched.get(seq);
    if (t === undefined) touched.set(seq, t = { block: at.block, dead: at.block.dead, rows: 0, low: 0 });
    t.dead = markDead(t.dead, at.decoded.rows, at.row);
    t.rows++;
    t.low += at.decoded.low[at.row] === 1 ? 1 : 0;
  }
  for (const [seq, t] of touched) {
    await trx.updateTable('prediction_block')
      .set((eb) => ({ dead: t.dead, dead_rows: eb('dead_rows', '+', t.rows), dead_low: eb('dead_low', '+', t.low) }))
      .where('seq', '=', seq).execute();
  }
}

/** Parse and attach in one go (REST and CLI). */
export async function applyFeedback(db: RegistryDb, raw: readonly unknown[], now = Date.now()): Promise<FeedbackResult> {
  const { items, rejected } = parseFeedback(raw);
  const { attached, unknown } = await attachFeedback(db, items, now);
  return { attached, unknown, rejected };
}
