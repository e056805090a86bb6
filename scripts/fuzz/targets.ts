/**
 * What the fuzzers attack, one case at a time: the model loaders (a mutated model file is
 * detected, translated, loaded, and scored on one row of zeros) and the gRPC service (a mutated
 * ModelInfer message sent as raw bytes, without a key). Runs in the child process of
 * scripts/fuzz.ts, which watches it for crashes, hangs and memory growth.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { loadConfig } from '../../src/core/config.js';
import { isFerryError } from '../../src/core/errors.js';
import { mulberry32 } from '../../src/core/random.js';
import { allocate, type Tensor } from '../../src/core/tensor.js';
import { openServing, type ServingFerry as Ferry } from '../../src/main/ferry.js';
import { loadArtifact, translateArtifact } from '../../src/runtimes/artifact-error.js';
import { RuntimeCatalog } from '../../src/runtimes/catalog.js';
import { parseServeConfig } from '../../src/serving/config.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { startServer, type RunningServer } from '../../src/serving/server.js';
import { mutate, ProtoWriter, randomInt, randomPick, type Rng } from './mutate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Seed files per loader target (mutations splice between the files of one target). */
export const LOADER_SEEDS: Readonly<Record<string, { readonly files: readonly string[]; readonly text: boolean }>> = {
  'xgboost-json': { files: ['fixtures/xgboost/breast_hist/model.json', 'fixtures/xgboost/iris_softprob/model.json', 'fixtures/xgboost/cat_partition/model.json'], text: true },
  'xgboost-ubj': { files: ['fixtures/xgboost/breast_hist/model.ubj', 'fixtures/xgboost/iris_softprob/model.ubj', 'fixtures/xgboost/diabetes_gamma/model.ubj'], text: false },
  lightgbm: { files: ['fixtures/lightgbm/binary_plain/model.txt', 'fixtures/lightgbm/multiclass_categorical/model.txt', 'fixtures/lightgbm/linear_tree/model.txt'], text: true },
  pmml: { files: ['fixtures/pmml/forest.pmml', 'fixtures/pmml/cases/hand-transforms/model.pmml', 'fixtures/pmml/cases/hand-missing/model.pmml'], text: true },
  onnx: { files: ['fixtures/models/breast_mlp/model.onnx', 'fixtures/models/iris_string/model.onnx', 'fixtures/models/wine_two_inputs/model.onnx'], text: false },
  pickle: { files: ['fixtures/sklearn/gb_breast/model.joblib', 'fixtures/sklearn/dt_iris/model.joblib', 'fixtures/sklearn/logreg_breast/model.joblib'], text: false },
};

export const TARGETS = [...Object.keys(LOADER_SEEDS), 'grpc'] as const;

/** How one case ended. `internal`: an error that is not one of Ferry's (a bug to look at). */
export interface CaseResult {
  readonly outcome: 'ok' | 'refused' | 'internal';
  readonly detail?: string;
}

/** A deterministic generator for case `i` of `target` under `seed`. */
export function caseRng(seed: number, target: string, i: number): Rng {
  let h = seed >>> 0;
  for (const c of `${target}:${i}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return mulberry32(h);
}

function classify(err: unknown): CaseResult {
  if (isFerryError(err) && err.code !== 'FERRY_E_INTERNAL') return { outcome: 'refused', detail: err.code };
  return { outcome: 'internal', detail: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err).slice(0, 300) };
}

/** The loader target: builds the mutated file of case `i` and runs it through detect → translate → load → predict. */
export function loaderTarget(target: string): { input(rng: Rng): Uint8Array; run(bytes: Uint8Array): Promise<CaseResult> } {
  const seed = LOADER_SEEDS[target];
  if (!seed) throw new Error(`unknown target ${target}`);
  const files = seed.files.map((f) => readFileSync(join(ROOT, f)));
  const catalog = new RuntimeCatalog();
  return {
    input: (rng) => mutate(rng, randomPick(rng, files), seed.text, files),
    async run(bytes) {
      try {
        const factory = catalog.detect(bytes, `fuzz.${target}`);
        // Through the catalog's wrappers, as registration and serving load: they turn a parser's
        // ArtifactError into FERRY_E_ARTIFACT_INVALID (or the code it names).
        const translation = await translateArtifact(factory, bytes, 'fuzz');
        const runtime = await loadArtifact(factory, translation?.artifact ?? bytes, { intraOpThreads: 1, interOpThreads: 1 }, 'fuzz');
        try {
          const inputs: Record<string, Tensor> = {};
          let total = 0;
          for (const spec of runtime.signature().inputs) {
            const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
            const n = shape.reduce((a, b) => a * b, 1);
            total += n;
            if (total > 1 << 16) return { outcome: 'ok', detail: 'loaded; too wide to score' };
            inputs[spec.name] = { dtype: spec.dtype, shape, data: allocate(spec.dtype, n) };
          }
          await runtime.predict(inputs);
        } finally {
          await runtime.close();
        }
        return { outcome: 'ok' };
      } catch (err) {
        return classify(err);
      }
    },
  };
}

/** The gRPC target: a server in this process with one model and auth off (a keyless message is refused before decoding, which would test nothing); cases are raw ModelInfer bytes. */
export async function grpcTarget(): Promise<{ input(rng: Rng): Uint8Array; run(bytes: Uint8Array): Promise<CaseResult>; check(): Promise<void>; close(): Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'ferry-fuzz-'));
  const config = parseServeConfig({ port: 0, grpc_port: 0, runtime_workers: 0, body_limit: 1 << 20 }, {});
  const metrics = new ServingMetrics();
  const logger = pino({ level: 'silent' });
  const app: Ferry = await openServing(loadConfig({ FERRY_HOME: home }), config, metrics, logger);
  await app.registry.register({ path: join(ROOT, 'fixtures/models/breast_mlp/model.onnx'), name: 'bc', actor: 'fuzz' });
  const server: RunningServer = await startServer(app, config, metrics, logger);
  const client = new grpc.Client(`127.0.0.1:${server.grpcPort ?? 0}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  const call = (bytes: Uint8Array) => new Promise<grpc.ServiceError | null>((resolve) => {
    client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (err) => resolve(err));
  });
  const valid = () => new ProtoWriter().bytes(1, 'bc').message(5, (t) => {
    t.bytes(1, 'input').bytes(2, 'FP32').packed(3, [1, 30]).message(5, (c) => c.bytes(6, Buffer.alloc(120)));
  }).finish();
  const seeds = [valid(), ...Array.from({ length: 4 }, (_, k) => generated(mulberry32(k + 1)))];
  return {
    input: (rng) => (rng() < 0.5 ? mutate(rng, randomPick(rng, seeds), false, seeds) : generated(rng)),
    async run(bytes) {
      const err = await call(bytes);
      if (err && err.code === grpc.status.DEADLINE_EXCEEDED) return { outcome: 'internal', detail: 'no answer within 30 s' };
      if (err && (err.code === grpc.status.INTERNAL || err.code === grpc.status.UNKNOWN)) return { outcome: 'internal', detail: `${grpc.status[err.code]}: ${err.details}` };
      return err ? { outcome: 'refused', detail: grpc.status[err.code] } : { outcome: 'ok' };
    },
    /** The server still answers a valid request. */
    async check() {
      const err = await call(valid());
      if (err) throw new Error(`a valid ModelInfer failed after fuzzing: ${err.code} ${err.details}`);
    },
    async close() {
      client.close();
      await server.close();
      await app.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A random ModelInfer message built field by field: plausible structure, hostile values. */
function generated(rng: Rng): Buffer {
  const w = new ProtoWriter();
  w.bytes(1, rng() < 0.8 ? 'bc' : randomPick(rng, ['', 'nope', 'toString', '__proto__', 'bc'.repeat(100)]));
  if (rng() < 0.3) w.bytes(2, randomPick(rng, ['1', '0', '-1', 'latest', '99999999999', 'constructor']));
  const inputs = randomInt(rng, 4);
  for (let k = 0; k < inputs; k++) {
    w.message(5, (t) => {
      t.bytes(1, randomPick(rng, ['input', 'input', 'constructor', '', 'x']));
      t.bytes(2, randomPick(rng, ['FP32', 'FP64', 'INT64', 'BYTES', 'BOOL', 'FP16', 'toString', '']));
      const dims = randomInt(rng, 5);
      t.packed(3, Array.from({ length: dims }, () => randomPick(rng, [1, 30, 0, -1, 2 ** 31, 2 ** 40, 1 << 20])));
      if (rng() < 0.7) {
        t.message(5, (c) => {
          const field = randomPick(rng, [1, 2, 3, 6, 7, 8]);
          c.bytes(field, Buffer.from(Array.from({ length: randomInt(rng, 512) }, () => randomInt(rng, 256))));
        });
      }
    });
  }
  const outputs = randomInt(rng, 3);
  for (let k = 0; k < outputs; k++) w.message(6, (o) => o.bytes(1, randomPick(rng, ['label', 'probabilities', 'nope', ''])));
  if (rng() < 0.3) w.bytes(7, Buffer.alloc(randomPick(rng, [0, 4, 120, 121, 4096])));
  return w.finish();
}
