/**
 * CSV files DuckDB's reader gives up on — mixed CRLF/LF line endings, a line with a field too
 * many or too few, broken quoting — early (inside its sniffer's sample) or deep in the file: every
 * good row is read with the cells a clean copy of the file gives, each bad line is one unreadable
 * row at its place (a reject naming the line and why), and row numbers stay those of the file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Cell } from '../src/core/frame.js';
import { FileSource } from '../src/batch/file-source.js';
import { breastCsv } from './helpers/batch.js';
import { tempDir } from './helpers/env.js';

interface Read { rows: number[]; cells: Cell[][]; unreadable: Map<number, string>; count: number | undefined }

/** Every row read from `row` on: its place in the file, its cells, and the reason of each unreadable one. */
async function readAll(file: string, chunkSize: number, row = 0): Promise<Read> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const source = new FileSource(duck, [file], undefined, file, ['id']);
    const count = await source.count();
    const out: Read = { rows: [], cells: [], unreadable: new Map(), count };
    for await (const chunk of source.read({ kind: 'files', file: 0, row }, chunkSize)) {
      const bad = new Map(chunk.unreadable.map((u) => [u.index, u.message]));
      const columns = chunk.frame.columns.map((c) => chunk.frame.column(c) ?? []);
      for (let r = 0; r < chunk.frame.length; r++) {
        const place = Number(chunk.position(r).row);
        out.rows.push(place);
        if (bad.has(r)) out.unreadable.set(place, bad.get(r) as string);
        else out.cells.push(columns.map((c) => c[r] ?? null));
      }
    }
    return out;
  } finally {
    duck.closeSync();
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('CSV files DuckDB cannot read as a whole', () => {
  const tmp = tempDir('ferry-csv-careful-');
  after(() => tmp.cleanup());
  const ROWS = 22_000;
  const clean = breastCsv(ROWS).trim().split('\n');
  const write = (name: string, text: string): string => {
    const file = join(tmp.dir, name);
    writeFileSync(file, text);
    return file;
  };
  const cleanFile = write('clean.csv', `${clean.join('\n')}\n`);
  let reference: Read;
  /** The clean file's cells of data rows `places` (1-based). */
  const cellsOf = (places: readonly number[]) => places.map((p) => reference.cells[p - 1]);

  it('reads the clean file with DuckDB (the reference)', async () => {
    reference = await readAll(cleanFile, 4096);
    assert.equal(reference.cells.length, ROWS);
    assert.deepEqual(reference.rows, range(1, ROWS));
    assert.equal(reference.count, ROWS);
  });

  it('mixed line endings (a CRLF header and CRLF rows, LF rows appended): every row, the same cells', async () => {
    const lines = clean.map((l, i) => (i < 100 ? `${l}\r\n` : `${l}\n`));
    const file = write('mixed.csv', lines.join(''));
    const read = await readAll(file, 7000);
    assert.equal(read.unreadable.size, 0);
    assert.deepEqual(read.rows, range(1, ROWS));
    assert.deepEqual(read.cells, reference.cells);
    assert.equal(read.count, ROWS);
  });

  it('a field too many and too few on early lines, and a quote never closed: those rows are rejected with their line, the rest read', async () => {
    const lines = [...clean];
    lines[3] = `${lines[3]},99`; // data row 3, line 4
    lines[5] = (lines[5] as string).split(',').slice(0, 20).join(','); // data row 5, line 6
    lines[8] = (lines[8] as string).replace(/^(\d+),([^,]*),/, '$1,"$2,'); // data row 8, line 9: a quote opened, never closed
    const file = write('fields.csv', `${lines.join('\n')}\n`);
    const read = await readAll(file, 4096);
    assert.deepEqual(read.rows, range(1, ROWS));
    assert.deepEqual([...read.unreadable.keys()], [3, 5, 8]);
    assert.match(read.unreadable.get(3) as string, /FERRY_E_INPUT_FORMAT|not valid CSV: line 4: the row has 32 field\(s\) where the header has 31/);
    assert.match(read.unreadable.get(3) as string, /line 4: the row has 32 field\(s\) where the header has 31/);
    assert.match(read.unreadable.get(5) as string, /line 6: the row has 20 field\(s\) where the header has 31/);
    assert.match(read.unreadable.get(8) as string, /line 9: a quote opened on this line is never closed/);
    assert.deepEqual(read.cells, cellsOf(range(1, ROWS).filter((p) => ![3, 5, 8].includes(p))));
    assert.equal(read.count, ROWS);
  });

  it('text after a closing quote is the cell\'s text (validation refuses it as a number), the row count unchanged', async () => {
    const lines = [...clean];
    lines[11] = (lines[11] as string).replace(/^(\d+),([^,]*),/, '$1,"$2"x,'); // data row 11
    lines[12] = `${lines[12]},extra`; // data row 12: makes DuckDB give up
    const read = await readAll(write('quote-text.csv', `${lines.join('\n')}\n`), 4096);
    assert.deepEqual(read.rows, range(1, ROWS));
    assert.deepEqual([...read.unreadable.keys()], [12]);
    const expected = cellsOf(range(1, ROWS).filter((p) => p !== 12)).map((cells) => [...(cells ?? [])]);
    (expected[10] as Cell[])[1] = `"${String((reference.cells[10] as Cell[])[1])}"x`;
    assert.deepEqual(read.cells, expected);
  });

  it('a bad line deep in the file (past the sniffer\'s sample): DuckDB stops there and the read goes on record by record, nothing lost or read twice', async () => {
    const lines = [...clean];
    lines[21_001] = `${lines[21_001]},1,2`; // data row 21 001 (the sniffer samples 20 480)
    const late = clean.map((l, i) => (i > 21_500 ? `${l}\r\n` : `${l}\n`)); // and CRLF from row 21 501 on
    for (const [name, text, bad] of [['late-field.csv', `${lines.join('\n')}\n`, [21_001]], ['late-crlf.csv', late.join(''), []]] as const) {
      const read = await readAll(write(name, text), 3000);
      assert.deepEqual(read.rows, range(1, ROWS), name);
      assert.deepEqual([...read.unreadable.keys()], bad, name);
      assert.deepEqual(read.cells, cellsOf(range(1, ROWS).filter((p) => !(bad as readonly number[]).includes(p))), name);
    }
  });

  it('resumes mid-file with the file\'s row numbers', async () => {
    const lines = [...clean];
    lines[2] = `${lines[2]},x`;
    const file = write('resume.csv', `${lines.join('\n')}\n`);
    const read = await readAll(file, 1000, 10);
    assert.deepEqual(read.rows, range(11, ROWS));
    assert.equal(read.unreadable.size, 0);
    assert.deepEqual(read.cells, cellsOf(range(11, ROWS)));
  });

  it('a header with a repeated name is refused as ferry predict refuses it', async () => {
    const file = write('dup.csv', 'a,b,a\r\n1,2,3\n4,5,6,7\n');
    await assert.rejects(readAll(file, 10), /FERRY_E_INPUT_FORMAT|names column "a" twice/);
  });
});
