/**
 * MiningModel multipleModelMethod="selectAll": every segment whose predicate is true is scored and each
 * OutputField with a segmentId reads that segment's result (fixtures/pmml/cases/hand-selectall, values
 * derived by hand); the model's own target is missing (PMML makes it a list). What has no
 * one-value-per-row meaning is refused at load with the reason.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { ROOT } from './helpers/env.js';
import { refusedPmml } from './helpers/pmml-kernels.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const MODEL = readFileSync(join(ROOT, 'fixtures/pmml/cases/hand-selectall/model.pmml'), 'utf8');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const refused = refusedPmml;

describe('PMML MiningModel selectAll', () => {
  it('scores every selected segment; each segmentId OutputField reads its segment, missing when not selected', async () => {
    const rt = await loadArtifact(pmmlRuntime, bytes(MODEL), {}, 'sa.pmml');
    const out = await rt.predict({ x: { dtype: 'float64', shape: [4], data: Float64Array.of(1, 4, 7, Number.NaN) } });
    assert.deepEqual(out.low_y!.data, Float64Array.of(3, 9, Number.NaN, Number.NaN));
    assert.deepEqual(out.high_y!.data, Float64Array.of(Number.NaN, 6, 3, Number.NaN));
    assert.deepEqual(out.tree_y!.data, Float64Array.of(100, 100, 200, Number.NaN));
    assert.ok([...(out.y!.data as Float64Array)].every(Number.isNaN), 'the model\'s own (multi-valued) result is missing');
    await rt.close();
  });

  it('refuses what has no one-value-per-row meaning, and segmentId outside selectAll', async () => {
    await refused(MODEL.replace(/<OutputField[^>]*segmentId[^>]*\/>/g, ''), 'FERRY_E_PMML_UNSUPPORTED', /selectAll.*needs OutputFields with a segmentId/);
    await refused(MODEL.replace('<Output>', '<Output><OutputField name="all" feature="predictedValue"/>'), 'FERRY_E_PMML_UNSUPPORTED', /"all" reads the whole selectAll result/);
    await refused(MODEL.replace('segmentId="3"', 'segmentId="9"'), 'FERRY_E_PMML_INVALID', /segmentId="9" names no Segment/);
    await refused(MODEL.replace('<Segmentation multipleModelMethod="selectAll">', '<Segmentation multipleModelMethod="selectFirst">'), 'FERRY_E_PMML_UNSUPPORTED', /segmentId="low" is supported only .*selectAll/);
  });
});
