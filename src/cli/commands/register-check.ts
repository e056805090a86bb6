/**
 * `ferry register … --sample X.csv --expected y.csv`: score the sample rows with the model about
 * to be registered (through the one Scorer, as `ferry predict` would) and refuse the registration
 * when Ferry's answers differ from the expected ones — labels exactly, numbers within a relative
 * tolerance.
 */
import { readFile } from 'node:fs/promises';
import { ferry } from '../../core/errors.js';
import type { Frame } from '../../core/frame.js';
import type { ModelSignature } from '../../core/signature.js';
import type { ModelVersion } from '../../registry/types.js';
import { RuntimeCatalog } from '../../runtimes/catalog.js';
import type { ModelRuntime } from '../../runtimes/model-runtime.js';
import { Scorer } from '../../scoring/scorer.js';
import { loadArtifact, translateArtifact } from '../../runtimes/artifact-error.js';

export interface SampleCheck {
  readonly sample: Frame;
  readonly expected: Frame;
  readonly samplePath: string;
  readonly expectedPath: string;
  readonly tolerance: number;
}

/** Load the file as registration would (translation included) and run the check on it. */
export async function checkBeforeRegistering(path: string, format: string | undefined, name: string, check: SampleCheck): Promise<void> {
  const file = await readFile(path).catch(() => {
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path });
  });
  const factory = new RuntimeCatalog().detect(file, path, format);
  const translated = await translateArtifact(factory, file, path);
  const runtime = await loadArtifact(factory, translated?.artifact ?? file, {}, path);
  try {
    await sampleCheck(check, name)(runtime, runtime.signature());
  } finally {
    await runtime.close();
  }
}

/** The registration check: throws FERRY_E_REGISTRATION_MISMATCH naming the first difference. */
function sampleCheck(check: SampleCheck, name: string): (runtime: ModelRuntime, signature: ModelSignature) => Promise<void> {
  return async (runtime, signature) => {
    const { sample, expected } = check;
    const fail = (detail: string): never => {
      throw ferry('FERRY_E_REGISTRATION_MISMATCH', { path: check.samplePath, expected: check.expectedPath, detail });
    };
    if (expected.length !== sample.length) fail(`${check.expectedPath} has ${expected.length} rows, ${check.samplePath} has ${sample.length}`);
    // The version about to be registered, as the scorer sees one (nothing is stored yet).
    const version: ModelVersion = {
      model: name, version: 0, digest: '', size: 0, format: runtime.format, signature, metrics: {}, params: {}, tags: {}, lineage: {},
      description: '', createdBy: '', createdAt: '', archivedAt: null, aliases: [],
    };
    const outputs = signature.outputs.map((o) => o.name);
    const columns = expected.columns.filter((c) => outputs.includes(c));
    const compared = columns.length > 0 ? columns : [outputs.includes('label') ? 'label' : outputs[0]!];
    const result = await new Scorer().frame({ version, runtime }, sample, { outputs: compared });
    if (result.rejects.length > 0) fail(`sample row ${result.rejects[0]!.row} was rejected: ${result.rejects[0]!.error.message}`);
    for (const name of compared) {
      const got = result.outputs.find((o) => o.name === name)!.values;
      const want = expected.column(columns.length > 0 ? name : expected.columns[0]!) ?? [];
      for (let r = 0; r < got.length; r++) {
        const g = got[r];
        const w = want[r];
        if (typeof g === 'number' && w !== null && w !== undefined && w !== '' && !Number.isNaN(Number(w))) {
          const e = Number(w);
          if (Math.abs(g - e) > check.tolerance * Math.max(1, Math.abs(e))) fail(`row ${r}, ${name}: Ferry ${g}, expected ${e} (tolerance ${check.tolerance} relative)`);
        } else if (String(g) !== String(w)) {
          fail(`row ${r}, ${name}: Ferry ${JSON.stringify(g)}, expected ${JSON.stringify(w)}`);
        }
      }
    }
  };
}
