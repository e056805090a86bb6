import { Piscina } from 'piscina';
import { ferry, FerryError } from '../core/errors.js';
import type { ModelSignature } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';
import { artifactFailure, loadArtifact } from './artifact-error.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions } from './model-runtime.js';
import type { ModelStructure } from './model-structure.js';

// The worker is a sibling module: runtime-worker.js once built; from the TypeScript sources
// (tests under tsx) a small bootstrap registers tsx in the worker first.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './runtime-worker-dev.mjs' : './runtime-worker.js', import.meta.url).href;

/** A failure reported by a worker with its catalog code (see runtime-worker.ts). */
type Failed = { failed: { code: FerryError['code']; params: FerryError['params'] } };
type Answer = { outputs: Record<string, Tensor>; computeMs: number } | Failed;

/**
 * Any model format in worker threads (piscina), one model copy per thread: inputs are copied
 * over (those on a SharedArrayBuffer, as large binary request bodies are, are shared, not
 * copied), outputs moved back. Optionally a second copy on the calling thread takes the batches
 * expected to compute for less than `inlineBelowMs` (from the time per row the workers
 * measure), where the hop to a thread would cost more than the work: small requests stay fast,
 * large ones never block the event loop.
 */
export class ThreadedRuntime implements ModelRuntime {
  readonly format: string;
  readonly #pool: Piscina;
  readonly #signature: ModelSignature;
  readonly #label: string;
  readonly #inline: ModelRuntime | undefined;
  readonly #inlineBelowMs: number;
  /** Loads the copy on the calling thread that explanations read (the inline copy when there is one). */
  readonly #localCopy: () => Promise<ModelRuntime>;
  #local: Promise<ModelRuntime> | undefined;
  /** Moving average of compute milliseconds per row, as timed in the workers; undefined until measured. */
  #msPerRow: number | undefined;

  private constructor(format: string, pool: Piscina, signature: ModelSignature, label: string, inline: ModelRuntime | undefined, inlineBelowMs: number, localCopy: () => Promise<ModelRuntime>) {
    this.format = format;
    this.#pool = pool;
    this.#signature = signature;
    this.#label = label;
    this.#inline = inline;
    this.#inlineBelowMs = inlineBelowMs;
    this.#localCopy = localCopy;
  }

  /** Start `options.workers` threads that each load the model with `factory`. */
  static async start(factory: RuntimeFactory, bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ThreadedRuntime> {
    const threads = Math.max(1, options.workers ?? 1);
    const pool = new Piscina({
      filename: WORKER,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: { format: factory.format, bytes, options: { ...options, workers: 0 }, label },
    });
    let described: { signature: ModelSignature } | Failed;
    try {
      described = (await pool.run(null, { name: 'describe' })) as typeof described;
    } catch (err) {
      const e = artifactFailure(err, factory, label);
      described = { failed: { code: e.code, params: e.params } };
    }
    if ('failed' in described) {
      await pool.destroy();
      throw new FerryError(described.failed.code, described.failed.params);
    }
    const { signature } = described;
    const inlineBelowMs = options.inlineBelowMs ?? 0;
    const inline = inlineBelowMs > 0 ? await loadArtifact(factory, bytes, { ...options, workers: 0 }, label) : undefined;
    const localCopy = (): Promise<ModelRuntime> => (inline ? Promise.resolve(inline) : loadArtifact(factory, bytes, { ...options, workers: 0 }, label));
    return new ThreadedRuntime(factory.format, pool, signature, label, inline, inlineBelowMs, localCopy);
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  async predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const rows = Object.values(inputs)[0]?.shape[0] ?? 1;
    if (this.#inline && this.#msPerRow !== undefined && this.#msPerRow * rows < this.#inlineBelowMs) {
      // Not timed here: on a busy event loop the wait before the runtime starts would count as
      // compute. The estimate comes from the workers, which time the run alone.
      return this.#inline.predict(inputs, outputs);
    }
    let answer: Answer;
    try {
      answer = (await this.#pool.run({ inputs, outputs: outputs ?? this.#signature.outputs.map((o) => o.name) })) as Answer;
    } catch (err) {
      // Only a crashed thread ends up here; model errors come back as answers.
      throw ferry('FERRY_E_PREDICTION_FAILED', { format: this.format, model: this.#label, detail: err instanceof Error ? err.message : String(err) }, err);
    }
    if ('failed' in answer) throw new FerryError(answer.failed.code, answer.failed.params);
    const perRow = answer.computeMs / Math.max(1, rows);
    this.#msPerRow = this.#msPerRow === undefined ? perRow : 0.8 * this.#msPerRow + 0.2 * perRow;
    return answer.outputs;
  }

  /**
   * The model's structure, read from a copy on the calling thread (loaded on first use when
   * there is no inline copy): explanations walk the compiled arrays, which cannot cross threads.
   */
  async structure(): Promise<ModelStructure | undefined> {
    this.#local ??= this.#localCopy();
    const local = await this.#local;
    return local.structure?.();
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
    await this.#inline?.close();
    if (this.#local) {
      const local = await this.#local.catch(() => undefined);
      if (local && local !== this.#inline) await local.close();
    }
  }
}
