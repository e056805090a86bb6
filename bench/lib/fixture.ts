/** The breast_mlp fixture: model path and its input rows (30 FP32 features each). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_DIR = join(ROOT, 'fixtures/models/breast_mlp');
export const MODEL_PATH = join(FIXTURE_DIR, 'model.onnx');
export const INPUT_NAME = 'input';
export const FEATURES = 30;

interface Meta { input_columns: Record<string, string[]> }

/** Every row of input.csv as the model's 30 features, in meta.json's column order. */
export function fixtureRows(): number[][] {
  const meta = JSON.parse(readFileSync(join(FIXTURE_DIR, 'meta.json'), 'utf8')) as Meta;
  const columns = meta.input_columns[INPUT_NAME] ?? [];
  const [head = '', ...lines] = readFileSync(join(FIXTURE_DIR, 'input.csv'), 'utf8').trim().split('\n');
  const header = head.split(',');
  const index = columns.map((c) => header.indexOf(c));
  if (columns.length !== FEATURES || index.some((i) => i < 0)) throw new Error(`input.csv does not have the ${FEATURES} columns meta.json names`);
  return lines.map((line) => {
    const cells = line.split(',');
    return index.map((i) => Number(cells[i]));
  });
}

/** `n` rows, cycling through the fixture's rows. */
export function cycleRows(rows: readonly number[][], n: number): number[][] {
  return Array.from({ length: n }, (_, i) => rows[i % rows.length] ?? []);
}

/** Row-major FP32 bytes of rows. */
export function fp32Bytes(rows: readonly number[][]): Buffer {
  const values = Float32Array.from(rows.flat());
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}
