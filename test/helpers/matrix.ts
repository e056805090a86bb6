/** A fixture's input.csv (an id column, then one column per feature; empty = missing) as a row-major matrix. */
import { readFileSync } from 'node:fs';

export function readMatrix(path: string): { columns: string[]; rows: number; x: Float64Array } {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const columns = (lines[0] ?? '').split(',').slice(1);
  const x = new Float64Array((lines.length - 1) * columns.length);
  lines.slice(1).forEach((line, r) => line.split(',').slice(1).forEach((c, j) => (x[r * columns.length + j] = c === '' ? Number.NaN : Number(c))));
  return { columns, rows: lines.length - 1, x };
}
