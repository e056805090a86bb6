import { Piscina } from 'piscina';
import type * as ort from 'onnxruntime-node';
import { ferry, FerryError } from '../../core/errors.js';
import type { ModelSignature } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions, SniffResult } from '../model-runtime.js';
import { createSession, runSession, sessionOptions, sessionSignature } from './onnx-session.js';

/**
 * ONNX models through onnxruntime-node (CPU). With `workers: 0` the session lives on the
 * calling thread (the CLI, batch jobs); with `workers: n` it lives in n worker threads, so a
 * server's event loop keeps answering while a model computes.
 */
export const onnxRuntime: RuntimeFactory = {
  format: 'onnx',

  sniff(bytes: Uint8Array): SniffResult {
    // A serialized ModelProto starts with field 1 (ir_version, varint): tag 0x08, then a small version.
    const ir = bytes[1] ?? 0;
    return bytes[0] === 0x08 && ir >= 1 && ir <= 15 ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
    if (options.workers && options.workers > 0) return WorkerOnnxModel.start(bytes, options, label);
    const session = await createSession(bytes, sessionOptions(options), label);
    try {
      return new OnnxModel(session, sessionSignature(session, label), label);
    } catch (err) {
      await session.release();
      throw err;
    }
  },
};

/** A session on the calling thread. */
class OnnxModel implements ModelRuntime {
  readonly format = 'onnx';
  readonly #session: ort.InferenceSession;
  readonly #signature: ModelSignature;
  readonly #label: string;

  constructor(session: ort.InferenceSession, signature: ModelSignature, label: string) {
    this.#session = session;
    this.#signature = signature;
    this.#label = label;
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return runSession(this.#session, inputs, outputs ?? this.#signature.outputs.map((o) => o.name), this.#label);
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}

// The worker is a sibling module: onnx-worker.js once built; from the TypeScript sources
// (tests under tsx) a small bootstrap registers tsx in the worker first.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './onnx-worker-dev.mjs' : './onnx-worker.js', import.meta.url).href;

/**
 * Sessions in worker threads (piscina), one per thread; inputs are copied over, outputs moved
 * back. Optionally a second session on the calling thread takes the batches that compute for
 * less than `inlineBelowMs` (judged from the measured time per row), where the hop to a
 * thread would cost more than the work: small requests stay fast, large ones never block.
 */
class WorkerOnnxModel implements ModelRuntime {
  readonly format = 'onnx';
  readonly #pool: Piscina;
  readonly #signature: ModelSignature;
  readonly #label: string;
  readonly #inline: OnnxModel | undefined;
  readonly #inlineBelowMs: number;
  /** Moving average of compute milliseconds per row, as timed in the workers; undefined until measured. */
  #msPerRow: number | undefined;

  private constructor(pool: Piscina, signature: ModelSignature, label: string, inline: OnnxModel | undefined, inlineBelowMs: number) {
    this.#pool = pool;
    this.#signature = signature;
    this.#label = label;
    this.#inline = inline;
    this.#inlineBelowMs = inlineBelowMs;
  }

  static async start(bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<WorkerOnnxModel> {
    const threads = options.workers ?? 1;
    const pool = new Piscina({
      filename: WORKER,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: { bytes, options: sessionOptions(options), label },
    });
    let signature: ModelSignature;
    try {
      signature = (await pool.run(null, { name: 'describe' })) as ModelSignature;
    } catch (err) {
      await pool.destroy();
      throw revive(err, 'FERRY_E_ARTIFACT_INVALID', { path: label, format: 'ONNX' });
    }
    const inlineBelowMs = options.inlineBelowMs ?? 0;
    let inline: OnnxModel | undefined;
    if (inlineBelowMs > 0) {
      const session = await createSession(bytes, sessionOptions(options), label);
      inline = new OnnxModel(session, signature, label);
    }
    return new WorkerOnnxModel(pool, signature, label, inline, inlineBelowMs);
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  async predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const rows = Object.values(inputs)[0]?.shape[0] ?? 1;
    if (this.#inline && this.#msPerRow !== undefined && this.#msPerRow * rows < this.#inlineBelowMs) {
      // Not timed here: on a busy event loop the wait before onnxruntime starts would count as
      // compute. The estimate comes from the workers, which time the run alone.
      return this.#inline.predict(inputs, outputs);
    }
    type Answer = { outputs: Record<string, Tensor>; computeMs: number } | { failed: { code: FerryError['code']; params: FerryError['params'] } };
    let answer: Answer;
    try {
      answer = (await this.#pool.run({ inputs, outputs: outputs ?? this.#signature.outputs.map((o) => o.name) })) as Answer;
    } catch (err) {
      throw revive(err, 'FERRY_E_PREDICTION_FAILED', { format: 'ONNX', model: this.#label });
    }
    if ('failed' in answer) throw new FerryError(answer.failed.code, answer.failed.params);
    this.#learn(answer.computeMs, rows);
    return answer.outputs;
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
    await this.#inline?.close();
  }

  #learn(ms: number, rows: number): void {
    const perRow = ms / Math.max(1, rows);
    this.#msPerRow = this.#msPerRow === undefined ? perRow : 0.8 * this.#msPerRow + 0.2 * perRow;
  }
}

/** A worker failure (a crashed thread, a model that did not load) as a catalog error. */
function revive(err: unknown, code: 'FERRY_E_ARTIFACT_INVALID' | 'FERRY_E_PREDICTION_FAILED', params: Record<string, string>): FerryError {
  if (err instanceof FerryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // The worker's load error already says "<label> is not a valid ONNX model: …"; keep its detail only.
  const detail = message.replace(/^"[^"]*" is not a valid ONNX model: /, '');
  return ferry(code, { ...params, detail }, err);
}
