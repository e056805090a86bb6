/** Score small PMML fixtures (fixtures/pmml/kernels/) through the PMML core, for the kernel tests. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isFerryError } from '../../src/core/errors.js';
import { compileDocument } from '../../src/runtimes/pmml/document.js';
import { pmmlRuntime } from '../../src/runtimes/pmml/pmml-runtime.js';
import type { Tensor } from '../../src/core/tensor.js';
import type { Row, Value } from '../../src/runtimes/pmml/types.js';
import { parseXml } from '../../src/runtimes/pmml/xml.js';
import { ROOT } from './env.js';
import { loadArtifact } from '../../src/runtimes/artifact-error.js';

export type Scorer = (inputs: Record<string, Value>) => ReadonlyMap<string, Value>;

/** Compile a fixture (file name under fixtures/pmml/kernels/) or a PMML text. */
export function pmml(nameOrText: string): Scorer {
  const text = nameOrText.trimStart().startsWith('<') ? nameOrText : readFileSync(join(ROOT, 'fixtures/pmml/kernels', nameOrText), 'utf8');
  const doc = compileDocument(parseXml(text));
  return (inputs) => doc.model.score(row(inputs)).fields;
}

/** A transaction: the group's rows, each giving the item field one value. */
export function scoreGroup(score: (r: Row) => ReadonlyMap<string, Value>, field: string, items: readonly Value[]): ReadonlyMap<string, Value> {
  return score({ get: (n) => (n === field ? items[0] ?? null : null), values: (n) => (n === field ? items : []) });
}

/** Compile a fixture and return the raw row scorer (for grouped input). */
export function pmmlRows(name: string): (r: Row) => ReadonlyMap<string, Value> {
  const doc = compileDocument(parseXml(readFileSync(join(ROOT, 'fixtures/pmml/kernels', name), 'utf8')));
  return (r) => doc.model.score(r).fields;
}

export function row(inputs: Record<string, Value>): Row {
  return { get: (n) => inputs[n] ?? null };
}

/** Numbers agree to 1e-12 relative (hand-derived values are exact up to the last few ULPs). */
export function near(actual: Value | undefined, expected: number, message?: string): void {
  assert.equal(typeof actual, 'number', message ?? `expected a number, got ${String(actual)}`);
  const a = actual as number;
  assert.ok(Math.abs(a - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${message ?? ''} ${a} ≠ ${expected}`);
}

/** A document with one model, for refusal tests. */
export function doc(dataDictionary: string, model: string): string {
  return `<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${dataDictionary}</DataDictionary>${model}</PMML>`;
}

/** Assert that loading `text` as a PMML runtime is refused with `code` and a message matching `pattern`. */
export async function refusedPmml(text: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadArtifact(pmmlRuntime, new TextEncoder().encode(text), {}, 'case.pmml'), (err: unknown) => {
    assert.ok(isFerryError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

/** The forest fixture's rows, every 5th row with every 7th field missing, and one row all missing. */
export function forestInputs(): Record<string, Tensor> {
  const [head, ...lines] = readFileSync(join(ROOT, 'fixtures/pmml/cases/sklearn-forest/input.csv'), 'utf8').trim().split('\n');
  const names = head!.split(',');
  const rows = lines.length + 1;
  return Object.fromEntries(names.map((n, j) => [n, {
    dtype: 'float64', shape: [rows], data: Float64Array.from({ length: rows }, (_, i) => (i === lines.length || (i % 5 === 0 && j % 7 === 0) ? Number.NaN : Number(lines[i]!.split(',')[j]))),
  } satisfies Tensor]));
}
