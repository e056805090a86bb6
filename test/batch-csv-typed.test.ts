/**
 * The typed CSV read (features parsed to DOUBLE by DuckDB's CSV reader) gives the same cells as
 * the text read, row for row, even when a cell it cannot hold sits deep in the file — where
 * DuckDB ends a streaming result without raising the conversion error — and resumes mid-file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Cell } from '../src/core/frame.js';
import { countCsvRows } from '../src/batch/csv-plan.js';
import { FileSource } from '../src/batch/file-source.js';
import { breastCsv } from './helpers/batch.js';
import { tempDir } from './helpers/env.js';

const ROWS = 30_000;

/** Every cell of every chunk, and the chunk ends, reading from `row`. */
async function readAll(file: string, chunkSize: number, row = 0): Promise<{ cells: Cell[][]; ends: number[] }> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const source = new FileSource(duck, [file], undefined, file, ['id']);
    const cells: Cell[][] = [];
    const ends: number[] = [];
    for await (const chunk of source.read({ kind: 'files', file: 0, row }, chunkSize)) {
      const columns = chunk.frame.columns.map((c) => chunk.frame.column(c) ?? []);
      for (let r = 0; r < chunk.frame.length; r++) cells.push(columns.map((c) => c[r] ?? null));
      if (chunk.end.kind === 'files') ends.push(chunk.end.row);
    }
    return { cells, ends };
  } finally {
    duck.closeSync();
  }
}

describe('typed CSV read', () => {
  const tmp = tempDir('ferry-csv-typed-');
  after(() => tmp.cleanup());
  const lines = breastCsv(ROWS).trim().split('\n');
  const edit = (row: number, column: number, text: string): void => {
    const cells = lines[row]!.split(',');
    cells[column] = text;
    lines[row] = cells.join(',');
  };
  edit(7, 0, 'k7'); // a text key
  edit(24_001, 3, 'oops'); // beyond DuckDB's first chunks: the typed stream stops here silently
  edit(25_000, 5, ''); // an empty feature cell
  edit(26_000, 6, 'inf'); // not finite: the text is kept for validation
  const file = join(tmp.dir, 'in.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const quoted = join(tmp.dir, 'quoted.csv');
  writeFileSync(quoted, `${lines.map((l, i) => (i === 1 ? l.replace(/^0,/, '"0",') : l)).join('\n')}\n`);

  it('counts rows from line breaks, and gives up on files with quotes', async () => {
    assert.equal(await countCsvRows(file), ROWS);
    assert.equal(await countCsvRows(quoted), undefined);
  });

  it('reads every row, with the cells the text read gives (quoted files take the text read)', async () => {
    const typed = await readAll(file, 4096);
    const text = await readAll(quoted, 4096);
    assert.equal(typed.cells.length, ROWS, 'no row lost where DuckDB stopped');
    assert.deepEqual(typed.ends, text.ends, 'the same chunk boundaries');
    assert.deepEqual(typed.cells.slice(1), text.cells.slice(1));
    assert.equal(typed.cells[0]![0], 0);
    assert.equal(typed.cells[6]![0], 'k7');
    assert.equal(typed.cells[24_000]![3], 'oops');
    assert.equal(typed.cells[24_999]![5], '');
    assert.equal(typed.cells[25_999]![6], 'inf');
    assert.equal(typeof typed.cells[100]![3], 'number');
  });

  it('resumes mid-file from a chunk end with the same rows', async () => {
    const whole = await readAll(file, 4096);
    const resumed = await readAll(file, 4096, 20_480);
    assert.deepEqual(resumed.cells, whole.cells.slice(20_480));
  });
});
