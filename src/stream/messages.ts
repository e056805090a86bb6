import { createHash } from 'node:crypto';
import { ferry, type FerryError } from '../core/errors.js';

/**
 * The stream message format. Input: `{"id": "…", "inputs": {col: value, …}}` (one row) or
 * `{"id": "…", "rows": [{…}, …]}`. Output: `{"id", "model", "version", "outputs", "scored_at"}`
 * where `outputs` is `{name: value}` for `inputs` and a list of them for `rows`; with
 * `--log-predictions`, also `prediction_id` (`inputs`) or `prediction_ids` (`rows`).
 */

/** A parsed input message. */
export interface InputMessage {
  readonly id: string;
  readonly rows: readonly Readonly<Record<string, unknown>>[];
  /** Sent as `rows` (the output then has a list of outputs). */
  readonly many: boolean;
}

/** Parse one payload; bad ones fail with FERRY_E_STREAM_MESSAGE_INVALID naming the problem. */
export function parseMessage(payload: Uint8Array): InputMessage {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    throw invalid(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(value)) throw invalid(`expected a JSON object, got ${describe(value)}`);
  const { id, inputs, rows } = value;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) throw invalid(`"id" must be a string or number, got ${describe(id)}`);
  if (String(id) === '' || String(id).length > 512) throw invalid('"id" must have 1 to 512 characters');
  const unknown = Object.keys(value).filter((k) => !['id', 'inputs', 'rows'].includes(k));
  if (unknown.length > 0) throw invalid(`unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}`);
  if ((inputs === undefined) === (rows === undefined)) throw invalid('give exactly one of "inputs" (one row) and "rows" (a list of rows)');
  if (inputs !== undefined) {
    if (!isObject(inputs)) throw invalid(`"inputs" must be an object of column values, got ${describe(inputs)}`);
    return { id: String(id), rows: [inputs], many: false };
  }
  if (!Array.isArray(rows) || rows.length === 0) throw invalid(`"rows" must be a non-empty list of objects, got ${describe(rows)}`);
  const bad = rows.findIndex((r) => !isObject(r));
  if (bad >= 0) throw invalid(`"rows"[${bad}] must be an object of column values, got ${describe(rows[bad])}`);
  return { id: String(id), rows: rows as Record<string, unknown>[], many: true };
}

/** The output message of one input. */
export function outputMessage(input: InputMessage, model: string, version: number, outputs: readonly Record<string, unknown>[], scoredAt: Date, ids?: readonly string[]): string {
  const logged = ids ? (input.many ? { prediction_ids: ids } : { prediction_id: ids[0] ?? null }) : {};
  return JSON.stringify({ id: input.id, model, version, outputs: input.many ? outputs : (outputs[0] ?? {}), scored_at: scoredAt.toISOString(), ...logged });
}

/** The dead-letter message: reason (catalog code and message) and the original payload. */
export function deadLetterMessage(payload: Uint8Array, id: string | null, error: FerryError, context: { consumer: string; group: string; attempts: number; at: Date }): string {
  const buf = Buffer.from(payload);
  const text = buf.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(buf);
  return JSON.stringify({
    id,
    reason: { code: error.code, message: error.message },
    ...(exact ? { payload: text } : { payload_base64: buf.toString('base64') }),
    consumer: context.consumer,
    group: context.group,
    attempts: context.attempts,
    failed_at: context.at.toISOString(),
  });
}

/** Idempotency key of a dead letter: the input id, or the payload's digest when it has none. */
export function deadLetterKey(payload: Uint8Array, id: string | null): string {
  return id === null ? `dl:sha256:${createHash('sha256').update(payload).digest('hex')}` : `dl:${id}`;
}

/** The id of a payload that failed to parse, when one can be read from it. */
export function idOf(payload: Uint8Array): string | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (isObject(v) && (typeof v.id === 'string' || typeof v.id === 'number') && String(v.id) !== '') return String(v.id);
  } catch {
    // no id
  }
  return null;
}

function invalid(detail: string): FerryError {
  return ferry('FERRY_E_STREAM_MESSAGE_INVALID', { detail });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? 'a string' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v) ?? ''}`;
}
