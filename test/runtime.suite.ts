/**
 * The contract every model runtime keeps, run against each one in the catalog
 * (test/runtimes.test.ts): detection by content, parity with the reference library's own
 * outputs, the same answers in worker threads as on the calling thread, and a damaged file
 * refused with a catalog error naming it (on the calling thread and in a worker).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFerryError, type ErrorCode } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import type { RuntimeFactory } from '../src/runtimes/model-runtime.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

/** A model with inputs and what the reference library (or a hand derivation) answers for them. */
export interface ReferenceCase {
  /** Where the model and its reference come from, for messages. */
  readonly label: string;
  readonly artifact: Uint8Array;
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Expected values of some outputs, flattened in row-major order. */
  readonly expected: Readonly<Record<string, readonly (number | string | null)[]>>;
  /** Largest absolute difference allowed for numbers. */
  readonly tolerance: number;
}

/** What one runtime brings to the shared suite. */
export interface RuntimeSpec {
  readonly factory: RuntimeFactory;
  readonly reference: () => ReferenceCase;
  /** A file of this format that is damaged (cut short, corrupted). */
  readonly damaged: () => Uint8Array;
  /** The code a damaged file gets. */
  readonly damagedCode?: ErrorCode;
}

function assertClose(label: string, name: string, actual: Tensor, want: readonly (number | string | null)[], tolerance: number): void {
  assert.equal(actual.data.length, want.length, `${label} ${name}: ${actual.data.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const a: unknown = actual.data[i];
    if (typeof w === 'number') {
      const diff = Math.abs(Number(a) - w);
      assert.ok(diff <= tolerance, `${label} ${name}[${i}]: ${String(a)} against the reference ${w} (|diff| ${diff} > ${tolerance})`);
    } else {
      assert.equal(a, w, `${label} ${name}[${i}]`);
    }
  }
}

export function runtimeSuite(spec: RuntimeSpec): void {
  const { factory } = spec;
  describe(`runtime contract: ${factory.format}`, () => {
    it('is detected by content, and by no other runtime', () => {
      const { artifact } = spec.reference();
      assert.equal(factory.sniff(artifact), 'yes');
      assert.equal(new RuntimeCatalog().detect(artifact, 'model-without-extension').format, factory.format);
    });

    it('answers as the reference does', async () => {
      const ref = spec.reference();
      const runtime = await loadArtifact(factory, ref.artifact, {}, ref.label);
      try {
        const out = await runtime.predict(ref.inputs);
        for (const [name, want] of Object.entries(ref.expected)) {
          const got = out[name];
          assert.ok(got, `${ref.label}: no output "${name}" (has ${Object.keys(out).join(', ')})`);
          assertClose(ref.label, name, got, want, ref.tolerance);
        }
      } finally {
        await runtime.close();
      }
    });

    it('gives the same answers in worker threads as on the calling thread', async () => {
      const ref = spec.reference();
      const catalog = new RuntimeCatalog();
      const inline = await catalog.load(factory.format, ref.artifact, {}, ref.label);
      const threaded = await catalog.load(factory.format, ref.artifact, { workers: 1 }, ref.label);
      try {
        const a = await inline.predict(ref.inputs);
        const b = await threaded.predict(ref.inputs);
        assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
        for (const name of Object.keys(a)) assert.deepEqual(Array.from(b[name]!.data as ArrayLike<unknown>), Array.from(a[name]!.data as ArrayLike<unknown>), name);
      } finally {
        await inline.close();
        await threaded.close();
      }
    });

    it('refuses a damaged file with a catalog error naming it, on the calling thread and in a worker', async () => {
      const code = spec.damagedCode ?? 'FERRY_E_ARTIFACT_INVALID';
      const refused = (e: unknown): boolean => isFerryError(e, code) && e.message.includes('damaged-model');
      await assert.rejects(loadArtifact(factory, spec.damaged(), {}, 'damaged-model'), refused);
      await assert.rejects(new RuntimeCatalog().load(factory.format, spec.damaged(), { workers: 1 }, 'damaged-model'), refused);
    });
  });
}
