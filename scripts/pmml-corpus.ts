/**
 * Runs a PMML conformance corpus (the layout of shared/conformance/pmml: manifest.json,
 * cases/<id>/{model.pmml,input.csv,expected.csv}) through the same path as `ferry predict`:
 * format detection, the PMML runtime, and the Scorer over a Frame of the input rows.
 * Used by scripts/conformance-pmml.ts and by the tests on Ferry's own fixtures.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../src/core/errors.js';
import { ColumnFrame, type Cell } from '../src/core/frame.js';
import type { ModelVersion } from '../src/registry/types.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { Scorer } from '../src/scoring/scorer.js';

export interface CaseInfo {
  readonly id: string;
  readonly type: string;
  readonly relative: number;
  readonly zero: number;
  readonly flags: readonly string[];
  readonly groupField: string | undefined;
  /** The model file when it is not cases/<id>/model.pmml (relative to the corpus folder). */
  readonly modelFile: string | undefined;
}

export interface Outcome {
  readonly id: string;
  readonly type: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly checked: number;
}

/** CSV as the corpus writes it: no quoting, no trimming. */
function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').replace(/\r\n/g, '\n').split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const [head = '', ...rest] = lines;
  return { header: head.split(','), rows: rest.map((l) => l.split(',')) };
}

const isNA = (cell: string): boolean => cell === 'NA' || cell === 'N/A';

export function cases(dir: string): CaseInfo[] {
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      cases: { id: string; model: { top_level: string }; model_file?: string; tolerance?: { relative?: number; absolute_zero_threshold?: number }; flags?: string[]; mining_schema?: { group_fields?: string[] } }[];
    };
    return manifest.cases.map((c) => ({
      id: c.id,
      type: c.model.top_level,
      relative: c.tolerance?.relative ?? 1e-9,
      zero: c.tolerance?.absolute_zero_threshold ?? 1e-9,
      flags: c.flags ?? [],
      groupField: c.mining_schema?.group_fields?.[0],
      modelFile: c.model_file,
    }));
  }
  // No manifest: every folder under cases/, the model type read from the document.
  return readdirSync(join(dir, 'cases')).sort().map((id) => {
    const text = readFileSync(join(dir, 'cases', id, 'model.pmml'), 'utf8');
    const type = /<(\w+Model|NeuralNetwork|Scorecard)[\s>]/.exec(text)?.[1] ?? 'unknown';
    const group = /<MiningField[^>]*name="([^"]+)"[^>]*usageType="group"/.exec(text)?.[1];
    return { id, type, relative: 1e-9, zero: 1e-9, flags: [], groupField: group, modelFile: undefined };
  });
}

function fakeVersion(id: string, size: number, signature: ModelVersion['signature']): ModelVersion {
  return {
    model: id, version: 1, digest: '', size, format: 'pmml', signature, metrics: {}, params: {}, tags: {},
    lineage: {}, description: '', createdBy: 'conformance', createdAt: new Date(0).toISOString(), archivedAt: null, aliases: [],
  };
}

/** VerificationUtil.acceptable, plus category text compared as numbers when both are numbers. */
function matches(expected: string, actual: unknown, relative: number, zero: number): boolean {
  if (isNA(expected)) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  if (typeof actual === 'number') {
    const e = Number(expected);
    if (Number.isNaN(e)) return false;
    if (Math.abs(e) <= zero && Math.abs(actual) <= zero) return true;
    return Math.abs(actual - e) <= relative * Math.abs(e);
  }
  if (typeof actual === 'boolean') return String(actual) === expected.trim().toLowerCase();
  if (typeof actual !== 'string') return false;
  const a = actual;
  if (a === expected) return true;
  const an = Number(a);
  const en = Number(expected);
  return a.trim() !== '' && expected.trim() !== '' && !Number.isNaN(an) && !Number.isNaN(en) && an === en;
}

export async function runCase(dir: string, info: CaseInfo, catalog: RuntimeCatalog, scorer: Scorer): Promise<Outcome> {
  const base = join(dir, 'cases', info.id);
  const fail = (detail: string, checked = 0): Outcome => ({ id: info.id, type: info.type, ok: false, detail, checked });
  const modelPath = info.modelFile === undefined ? join(base, 'model.pmml') : join(dir, info.modelFile);
  const bytes = new Uint8Array(readFileSync(modelPath));
  let runtime;
  try {
    const factory = catalog.detect(bytes, modelPath);
    runtime = await catalog.load(factory.format, bytes, {}, modelPath);
  } catch (err) {
    return fail(`load: ${err instanceof FerryError ? `${err.code}: ${err.message}` : String(err)}`);
  }
  try {
    const signature = runtime.signature();
    const input = readCsv(join(base, 'input.csv'));
    const expected = readCsv(join(base, 'expected.csv'));
    const data = new Map<string, Cell[]>();
    for (const spec of signature.inputs) {
      const j = input.header.indexOf(spec.name);
      data.set(spec.name, input.rows.map((r) => {
        const cell = j < 0 ? undefined : r[j];
        return cell === undefined || cell === '' || isNA(cell) ? null : cell;
      }));
    }
    const frame = new ColumnFrame(data, input.rows.length);
    const model = { version: fakeVersion(info.id, bytes.byteLength, signature), runtime };
    const result = await scorer.frame(model, frame);
    const firstReject = result.rejects[0];
    if (firstReject) return fail(`row ${firstReject.row + 1} rejected: ${firstReject.error.code}: ${firstReject.error.message}`);
    // Grouped input: one expected row per group, in order of first appearance.
    let pairs: number[] = expected.rows.map((_, i) => i);
    if (info.groupField !== undefined && info.flags.includes('grouped-input')) {
      const g = input.header.indexOf(info.groupField);
      const seen = new Map<string, number>();
      input.rows.forEach((r, i) => { if (!seen.has(r[g] ?? '')) seen.set(r[g] ?? '', i); });
      pairs = [...seen.values()];
    }
    if (pairs.length !== expected.rows.length) return fail(`expected.csv has ${expected.rows.length} rows, the input gives ${pairs.length}`);
    let checked = 0;
    for (const [c, column] of expected.header.entries()) {
      const output = result.outputs.find((o) => o.name === column);
      if (!output) return fail(`no result named "${column}" (results: ${result.outputs.map((o) => o.name).join(', ')})`);
      for (let i = 0; i < expected.rows.length; i++) {
        const cell = expected.rows[i]![c] ?? '';
        if (cell === '') continue;
        const actual = output.values[pairs[i]!];
        checked++;
        if (!matches(cell, actual, info.relative, info.zero)) {
          return fail(`row ${i + 1} "${column}": expected ${cell}, got ${actual === undefined ? 'nothing' : JSON.stringify(actual)}`, checked);
        }
      }
    }
    return { id: info.id, type: info.type, ok: true, detail: '', checked };
  } catch (err) {
    return fail(`score: ${err instanceof FerryError ? `${err.code}: ${err.message}` : err instanceof Error ? err.stack ?? err.message : String(err)}`);
  } finally {
    await runtime.close();
  }
}


/** Run every case (or the named one) of a corpus, in order. */
export async function runCorpus(dir: string, only?: string): Promise<{ cases: CaseInfo[]; outcomes: Outcome[] }> {
  const all = cases(dir).filter((c) => only === undefined || c.id === only);
  const catalog = new RuntimeCatalog();
  const scorer = new Scorer();
  const outcomes: Outcome[] = [];
  for (const info of all) outcomes.push(await runCase(dir, info, catalog, scorer));
  return { cases: all, outcomes };
}
