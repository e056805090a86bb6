/**
 * The shared suite of the file-format seam: every line of FILE_FORMATS (src/data/file-formats.ts)
 * is run through what Ferry does with files — parse/serialise round trip, DuckDB reading the
 * format, `ferry predict` reading it, and `ferry batch run` reading it and writing it (one file,
 * or a folder of parts) with the reference predictions of the breast_mlp fixture. A new format is
 * one line in the table, and this file runs it with no change.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Frame } from '../src/core/frame.js';
import { FILE_FORMATS, type FileFormat } from '../src/data/file-formats.js';
import { parseCsvText } from '../src/data/formats/csv.js';
import { runCli } from './helpers/cli.js';
import { filesIn } from './helpers/batch.js';
import { tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture, inputColumnFlags } from './helpers/fixtures.js';

const bc = fixture('breast_mlp');

/** Row `r` of a Frame as a record of numbers. */
function numbersAt(frame: Frame, r: number): Record<string, unknown> {
  return Object.fromEntries(frame.columns.map((c) => [c, Number(frame.column(c)?.[r])]));
}

/** The fixture's input rows as records of numbers. */
function inputRecords(): Record<string, unknown>[] {
  const frame = parseCsvText(readFileSync(bc.input, 'utf8'), bc.input);
  return Array.from({ length: frame.length }, (_, r) => numbersAt(frame, r));
}

/** Rows of files of `format`, read through its own `duckdbRead`, numbers as numbers. */
async function readThrough(format: FileFormat, paths: readonly string[]): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const list = `[${paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ')}]`;
    const result = await c.runAndReadAll(`select * from ${format.duckdbRead(list)}`);
    return result.getRowObjectsJS().map((row) => gathered(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)]))));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** A row with CSV's expanded columns (`probabilities_0`, `probabilities_1`) gathered back into arrays. */
function gathered(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const m = /^(.*)_(\d+)$/.exec(k);
    if (m && !(k in out) && !(m[1] as string in row)) ((out[m[1] as string] ??= []) as unknown[])[Number(m[2])] = v;
    else out[k] = v;
  }
  return out;
}

/** DuckDB values (text of CSV read as varchar, bigints, lists) as plain numbers where they are numbers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Date) return v.toISOString();
  return v;
}

/** Write the records as a file of `format`: its serialiser, or DuckDB's COPY for binary formats. */
async function writeAs(format: FileFormat, records: readonly Record<string, unknown>[], path: string, csvSource: string): Promise<void> {
  if (format.serialise) {
    writeFileSync(path, format.serialise(records));
    return;
  }
  assert.ok(format.duckdbWrite, `${format.label} has neither a serialiser nor a DuckDB writer`);
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`copy (select * from read_csv('${csvSource}', header=true)) to '${path}' (${format.duckdbWrite})`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe('file formats: every line of FILE_FORMATS through predict, DuckDB and batch', () => {
  const tmp = tempDir('ferry-file-formats-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const at = (name: string) => join(tmp.dir, name);
  const records = inputRecords();

  before(async () => {
    const r = await runCli(['register', bc.model, '--name', 'bc', ...inputColumnFlags(bc)], env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => tmp.cleanup());

  it('CSV with mixed line endings (a CRLF header, LF rows appended, a lone CR) reads every row', () => {
    const frame = parseCsvText('a,b\r\n1,"x\ny"\r\n2,z\n3,w\r4,v\n', 'mixed.csv');
    assert.deepEqual(frame.columns, ['a', 'b']);
    assert.deepEqual(Array.from({ length: frame.length }, (_, r) => frame.column('b')?.[r]), ['x\ny', 'z', 'w', 'v']);
    assert.deepEqual(numbersAt(frame, 3), { a: 4, b: Number.NaN });
  });

  it('the table is well formed: names, labels and extensions are unique; every format can be written', () => {
    const names = FILE_FORMATS.map((f) => f.name);
    const extensions = FILE_FORMATS.flatMap((f) => f.extensions);
    assert.equal(new Set(names).size, names.length);
    assert.equal(new Set(extensions).size, extensions.length);
    for (const f of FILE_FORMATS) {
      assert.ok(f.extensions.length > 0 && f.extensions.every((e) => e.startsWith('.') && e === e.toLowerCase()), f.name);
      assert.ok(f.serialise ?? f.formatTable ?? f.duckdbWrite, `${f.name}: no writer`);
      if (f.appendable) assert.ok(f.formatTable ?? f.serialise, `${f.name}: appendable without a text writer`);
    }
  });

  for (const format of FILE_FORMATS) {
    const ext = format.extensions[0] ?? '';
    describe(format.label, () => {
      const input = at(`in-${format.name}${ext}`);
      before(() => writeAs(format, records, input, bc.input));

      it('DuckDB reads it back as written (duckdbRead)', async () => {
        const rows = await readThrough(format, [input]);
        assert.equal(rows.length, records.length);
        assert.deepEqual(rows[7], records[7]);
      });

      if (format.parse && format.serialise) {
        it('parse(serialise(records)) gives the records back', () => {
          const frame = format.parse?.(readFileSync(input, 'utf8'), input);
          assert.ok(frame);
          assert.equal(frame.length, records.length);
          assert.deepEqual(numbersAt(frame, 3), records[3]);
        });
      }

      it('ferry predict reads it and gives the reference predictions', async () => {
        const out = at(`predict-${format.name}.jsonl`);
        const r = await runCli(['predict', 'bc', '--input', input, '--key', 'id', '--output', out], env);
        assert.equal(r.code, 0, r.stderr);
        const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assertMatchesReference(bc, rows);
      });

      it('ferry batch run reads it and writes a folder of parts of it', async () => {
        const dir = at(`parts-${format.name}`);
        const r = await runCli(['batch', 'run', 'bc', '-i', input, '-o', `${dir}/`, '--output-format', format.name, '-k', 'id', '--chunk-size', '16'], env);
        assert.equal(r.code, 0, r.stderr);
        const parts = filesIn(dir);
        assert.equal(parts.length, Math.ceil(records.length / 16));
        assert.ok(parts.every((p) => p.endsWith(ext)), parts.join(' '));
        const rows = await readThrough(format, parts);
        assert.deepEqual(rows.map((x) => x.id), records.map((x) => x.id));
        assertMatchesReference(bc, rows);
      });

      it(format.appendable || format.duckdbWrite ? 'ferry batch run writes one file of it' : 'ferry batch run refuses one file of it, naming the formats it can append', async () => {
        const out = at(`one-${format.name}${ext}`);
        const r = await runCli(['batch', 'run', 'bc', '-i', input, '-o', out, '-k', 'id', '--chunk-size', '16'], env);
        if (!format.appendable && !format.duckdbWrite) {
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /FERRY_E_BATCH_LOCATION_INVALID/);
          for (const f of FILE_FORMATS.filter((x) => x.appendable)) assert.ok(r.stderr.includes(`one-${format.name}${f.extensions[0] ?? ''}`), r.stderr);
          return;
        }
        assert.equal(r.code, 0, r.stderr);
        const rows = await readThrough(format, [out]);
        assert.deepEqual(rows.map((x) => x.id), records.map((x) => x.id));
        assertMatchesReference(bc, rows);
      });
    });
  }
});
