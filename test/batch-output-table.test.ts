/** Batch outputs written by column: the CSV and JSON Lines text is the record writer's text, byte for byte. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCsv, formatJsonl, tableRecords, type OutputTable } from '../src/data/output-table.js';
import { serialise } from '../src/data/writers.js';

const table: OutputTable = {
  length: 3,
  columns: [
    { name: 'id', type: 'BIGINT', data: { kind: 'cells', values: [1, 'a,b', 'say "hi"'] } },
    { name: 'note', type: 'VARCHAR', data: { kind: 'cells', values: [null, 'line\nbreak', 10n] } },
    { name: 'text', type: 'VARCHAR', data: { kind: 'cells', values: ['café, 𝔣', '', 'ü'] } },
    { name: 'label', type: 'BIGINT', data: { kind: 'tensor', tensor: { dtype: 'int64', shape: [3], data: new BigInt64Array([0n, 1n, 1n]) }, rowShape: [] } },
    { name: 'p', type: 'DOUBLE[]', data: { kind: 'tensor', tensor: { dtype: 'float32', shape: [3, 2], data: new Float32Array([0.1, 0.9, Number.NaN, 0.5, 1e-7, 1]) }, rowShape: [2] } },
    { name: 'ok', type: 'BOOLEAN', data: { kind: 'tensor', tensor: { dtype: 'bool', shape: [3, 1], data: new Uint8Array([1, 0, 1]) }, rowShape: [] } },
    { name: 'y', type: 'DOUBLE', data: { kind: 'tensor', tensor: { dtype: 'float64', shape: [3], data: new Float64Array([1.5, Infinity, -0.25]) }, rowShape: [] } },
    { name: 'model', type: 'VARCHAR', data: { kind: 'constant', value: 'm' } },
    { name: 'model_version', type: 'INTEGER', data: { kind: 'constant', value: 3 } },
  ],
};

describe('batch output table', () => {
  it('writes the same CSV as the record writer', () => {
    assert.equal(formatCsv(table).toString('utf8'), serialise(tableRecords(table), 'csv'));
  });

  it('writes the same JSON Lines as the record writer', () => {
    assert.equal(formatJsonl(table).toString('utf8'), serialise(tableRecords(table), 'jsonl'));
  });

  it('grows past its first buffer without cutting multi-byte text', () => {
    // Text of 3 bytes per UTF-16 unit in UTF-8, far more than the size guessed from the row count.
    const long = Array.from({ length: 2000 }, (_, i) => `${'€'.repeat(i % 300)}${i}`);
    const big: OutputTable = { length: long.length, columns: [{ name: 'text', type: 'VARCHAR', data: { kind: 'cells', values: long } }] };
    assert.equal(formatCsv(big).toString('utf8'), serialise(tableRecords(big), 'csv'));
    assert.equal(formatJsonl(big).toString('utf8'), serialise(tableRecords(big), 'jsonl'));
  });
});
