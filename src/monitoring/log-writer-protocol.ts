/**
 * What the prediction log's SQLite writer thread (log-writer-thread.ts) and its owner
 * (log-sink.ts) send each other. A batch travels as one string and one Float64Array, both
 * moved rather than cloned per value: the string holds id, model, source, inputs, outputs and
 * attributions ('' when none) of each row (fields separated by FIELD, rows by ROW; JSON and base64
 * never contain them raw);
 * the array holds version, at, latency, confidence (NaN = none) and the low-confidence flag,
 * NUMS_PER_ROW per row, so no number is printed and parsed again.
 */
export const FIELD = '\u001f';
export const ROW = '\u001e';
export const NUMS_PER_ROW = 5;

/** What the thread needs to open its own connection. */
export interface WriterThreadData {
  readonly path: string;
  readonly busyTimeoutMs: number;
}

/** To the thread: a batch to insert, or the order to close. */
export type WriterRequest =
  | { readonly id: number; readonly text: string; readonly nums: ArrayBuffer; readonly rows: number }
  | { readonly close: true };

/** From the thread: one batch inserted, or why not (the driver's error code and message). */
export interface WriterReply {
  readonly id: number;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}
