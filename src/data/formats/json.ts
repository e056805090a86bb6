import { ferry } from '../../core/errors.js';
import { ColumnFrame, toCell, type Cell, type Frame } from '../../core/frame.js';
import type { OutputRecord } from '../output-record.js';
import { isPlainObject, jsonReplacer } from './json-values.js';

/**
 * A JSON document: an array of row objects; an object of equal-length arrays (columns, or
 * named tensors such as `{"input": [[…], […]]}`); `{"inputs": {…}}` or `{"instances": […]}`
 * as MLflow and KServe send them; or one row object.
 */
export function parseJsonDocument(text: string, source: string): Frame {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw ferry('FERRY_E_INPUT_FORMAT', { source, format: 'JSON', detail: (err as Error).message }, err);
  }
  return frameFromJson(doc, source);
}

/** Turn a parsed JSON value of one of the accepted shapes into a Frame. */
export function frameFromJson(doc: unknown, source: string): Frame {
  const bad = (detail: string) => ferry('FERRY_E_INPUT_FORMAT', { source, format: 'JSON', detail });
  if (Array.isArray(doc)) {
    const i = doc.findIndex((r) => !isPlainObject(r));
    if (i >= 0) throw bad(`element ${i + 1} of the array is not an object of column values`);
    return ColumnFrame.fromRows(doc as Record<string, unknown>[]);
  }
  if (!isPlainObject(doc)) throw bad('expected an array of rows or an object of columns');
  if (isPlainObject(doc.inputs)) return frameFromJson(doc.inputs, source);
  if (Array.isArray(doc.instances)) return frameFromJson(doc.instances, source);
  const entries = Object.entries(doc);
  if (entries.length > 0 && entries.every(([, v]) => Array.isArray(v))) {
    const lengths = new Set(entries.map(([, v]) => (v as unknown[]).length));
    if (lengths.size > 1) throw bad(`the columns have different lengths (${[...lengths].join(', ')})`);
    const data = new Map<string, Cell[]>(entries.map(([k, v]) => [k, (v as unknown[]).map(toCell)]));
    return new ColumnFrame(data, [...lengths][0] ?? 0);
  }
  return ColumnFrame.fromRows([doc]);
}

/** The records as one JSON array. */
export function toJsonArray(records: readonly OutputRecord[]): string {
  return `${JSON.stringify(records, jsonReplacer)}\n`;
}
