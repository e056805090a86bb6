/** The committed fixture models and their reference predictions (scripts/fixtures/make.py). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { FIXTURES } from './env.js';

export interface Fixture {
  name: string;
  dir: string;
  model: string;
  input: string;
  meta: { inputs: { name: string; dtype: string; shape: number[] }[]; outputs: { name: string; dtype: string; shape: number[] }[]; input_columns: Record<string, string[]> };
  expected: { outputs: Record<string, unknown[]>; tolerance: Record<string, number>; reference: string };
}

export function fixtures(): Fixture[] {
  return readdirSync(FIXTURES).sort().map((name) => fixture(name));
}

export function fixture(name: string): Fixture {
  const dir = join(FIXTURES, name);
  return {
    name,
    dir,
    model: join(dir, 'model.onnx'),
    input: join(dir, 'input.csv'),
    meta: JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Fixture['meta'],
    expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Fixture['expected'],
  };
}

/**
 * `--input-columns` flags of a fixture's saved mapping: by default only for models with several
 * inputs (single-input models need none); `all` gives them for every model.
 */
export function inputColumnFlags(f: Fixture, all = false): string[] {
  if (f.meta.inputs.length === 1 && !all) return [];
  return Object.entries(f.meta.input_columns).flatMap(([input, cols]) => ['--input-columns', `${input}=${cols.join(',')}`]);
}

/** Assert predictions (one record per row, outputs by name) match the reference within tolerance. */
export function assertMatchesReference(f: Fixture, rows: readonly Record<string, unknown>[]): { maxError: Record<string, number> } {
  const maxError: Record<string, number> = {};
  for (const [output, expected] of Object.entries(f.expected.outputs)) {
    assert.equal(rows.length, expected.length, `${f.name}: row count`);
    const tol = f.expected.tolerance[output] ?? 0;
    let worst = 0;
    expected.forEach((want, i) => {
      const got = rows[i]?.[output];
      worst = Math.max(worst, compare(got, want, tol, `${f.name} row ${i} output ${output}`));
    });
    maxError[output] = worst;
  }
  return { maxError };
}

function compare(got: unknown, want: unknown, tol: number, where: string): number {
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${where}: expected an array, got ${JSON.stringify(got)}`);
    assert.equal(got.length, want.length, `${where}: length`);
    return Math.max(0, ...want.map((w, j) => compare((got as unknown[])[j], w, tol, `${where}[${j}]`)));
  }
  if (typeof want === 'number') {
    assert.equal(typeof got, 'number', `${where}: expected a number, got ${JSON.stringify(got)}`);
    const err = Math.abs((got as number) - want);
    assert.ok(err <= tol, `${where}: |${String(got)} - ${want}| = ${err} > ${tol}`);
    return err;
  }
  assert.deepEqual(got, want, where);
  return 0;
}

/** A cell of a fixture's input.csv: numbers as numbers, the rest as text. */
export type Value = number | string;

/** A fixture's input.csv without its `id` column: column names and typed rows. */
export function table(f: Fixture): { columns: string[]; rows: Value[][] } {
  const [head = '', ...lines] = readFileSync(f.input, 'utf8').trim().split('\n');
  const cells = (line: string) => line.split(',').map((c): Value => (c !== '' && Number.isFinite(Number(c)) ? Number(c) : c)).slice(1);
  return { columns: head.split(',').slice(1), rows: lines.map(cells) };
}

/** Rows as records `{column: value}`. */
export function records(f: Fixture): Record<string, Value>[] {
  const { columns, rows } = table(f);
  return rows.map((r) => Object.fromEntries(columns.map((c, j) => [c, r[j] as Value])));
}

/** Columns as `{column: [values]}`. */
export function columnar(f: Fixture): Record<string, Value[]> {
  const { columns, rows } = table(f);
  return Object.fromEntries(columns.map((c, j) => [c, rows.map((r) => r[j] as Value)]));
}

/** The numeric feature rows of a fixture's input.csv (without the id column). */
export function numericRows(f: Fixture): number[][] {
  return table(f).rows.map((r) => r.map(Number));
}

/** An OIP infer request with one row for a single-input FP32 model (e.g. breast_mlp's `input`). */
export function oneRowRequest(f: Fixture, row = 0): { inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] } {
  const data = numericRows(f)[row] ?? [];
  return { inputs: [{ name: f.meta.inputs[0]?.name ?? 'input', shape: [1, data.length], datatype: 'FP32', data }] };
}
