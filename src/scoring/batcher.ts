import { ferry, FerryError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { concatRows, sliceRows, tailKey } from './tensor-ops.js';

/** Dynamic batching settings of one model (Triton's names, microseconds for the delay). */
export interface BatchPolicy {
  /** Most rows in one runtime call. */
  readonly maxBatchSize: number;
  /** Longest a request waits for others to join its batch. */
  readonly maxQueueDelayUs: number;
  /** Batch sizes dispatched at once when the queue can form them. */
  readonly preferredBatchSizes: readonly number[];
  /** Requests allowed to wait; beyond it new requests fail with FERRY_E_QUEUE_FULL (429). */
  readonly maxQueueSize: number;
  /** A request not answered within this many ms fails with FERRY_E_TIMEOUT; 0 = no limit. */
  readonly timeoutMs: number;
  /** Batches run at the same time (the runtime's thread pool does the work). */
  readonly maxInflight: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({
  maxBatchSize: 32,
  maxQueueDelayUs: 1000,
  preferredBatchSizes: [],
  maxQueueSize: 1024,
  timeoutMs: 30_000,
  maxInflight: 2,
});

/** What the batcher reports to metrics. */
export interface BatchObserver {
  onBatch?(rows: number, requests: number): void;
  onQueued?(ms: number): void;
}

export interface BatchResult {
  readonly outputs: Record<string, Tensor>;
  /** Time spent waiting in the queue. */
  readonly queueMs: number;
}

type Run = (tensors: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

interface Pending {
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly rows: number;
  readonly key: string;
  readonly enqueuedAt: number;
  readonly resolve: (r: BatchResult) => void;
  readonly reject: (e: unknown) => void;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Joins concurrent requests for one model version into larger runtime calls. When the
 * runtime is idle a request runs at once; while a batch runs, new requests gather and wait at
 * most `maxQueueDelayUs` (or until `maxBatchSize` rows or a preferred size are waiting). The
 * queue is bounded; each request has its own timeout. Requests with different non-batch
 * shapes never share a batch.
 */
export class Batcher {
  readonly #run: Run;
  readonly #policy: BatchPolicy;
  readonly #observer: BatchObserver;
  readonly #label: string;
  readonly #queue: Pending[] = [];
  #inflight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(run: Run, policy: BatchPolicy, label: string, observer: BatchObserver = {}) {
    this.#run = run;
    this.#policy = policy;
    this.#label = label;
    this.#observer = observer;
  }

  get queued(): number {
    return this.#queue.length;
  }

  submit(tensors: Readonly<Record<string, Tensor>>, rows: number): Promise<BatchResult> {
    if (this.#closed) return Promise.reject(ferry('FERRY_E_SHUTTING_DOWN'));
    if (this.#queue.length >= this.#policy.maxQueueSize) {
      return Promise.reject(ferry('FERRY_E_QUEUE_FULL', { model: this.#label, limit: this.#policy.maxQueueSize, retryAfter: 1 }));
    }
    return new Promise<BatchResult>((resolve, reject) => {
      const pending: Pending = { tensors, rows, key: tailKey(tensors), enqueuedAt: performance.now(), resolve, reject, settled: false, timer: undefined };
      if (this.#policy.timeoutMs > 0) {
        pending.timer = setTimeout(() => {
          const at = this.#queue.indexOf(pending);
          if (at >= 0) this.#queue.splice(at, 1);
          settle(pending, () => reject(ferry('FERRY_E_TIMEOUT', { model: this.#label, timeoutMs: this.#policy.timeoutMs })));
        }, this.#policy.timeoutMs);
        pending.timer.unref();
      }
      this.#queue.push(pending);
      this.#pump();
    });
  }

  /** Fail everything still queued and refuse new work. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const p of this.#queue.splice(0)) settle(p, () => p.reject(ferry('FERRY_E_SHUTTING_DOWN')));
  }

  #pump(): void {
    while (this.#inflight < this.#policy.maxInflight && this.#queue.length > 0) {
      const head = this.#queue[0];
      if (!head) return;
      const ready = this.#rowsReady(head.key);
      const waitedUs = (performance.now() - head.enqueuedAt) * 1000;
      const full = ready >= this.#policy.maxBatchSize || this.#policy.preferredBatchSizes.includes(ready);
      // An idle runtime starts at once: waiting for company only pays while another batch
      // runs (requests then gather behind it), so a lone request never waits the delay.
      const idle = this.#inflight === 0;
      if (!full && !idle && waitedUs < this.#policy.maxQueueDelayUs) {
        this.#armTimer((this.#policy.maxQueueDelayUs - waitedUs) / 1000);
        return;
      }
      this.#dispatch(this.#take(head.key));
    }
  }

  #rowsReady(key: string): number {
    let rows = 0;
    for (const p of this.#queue) if (p.key === key) rows += p.rows;
    return rows;
  }

  /** Take requests of one shape from the queue, oldest first, up to maxBatchSize rows (at least one). */
  #take(key: string): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    for (let i = 0; i < this.#queue.length;) {
      const p = this.#queue[i];
      if (!p) break;
      if (p.key !== key) { i++; continue; }
      if (batch.length > 0 && rows + p.rows > this.#policy.maxBatchSize) break;
      batch.push(p);
      rows += p.rows;
      this.#queue.splice(i, 1);
      if (rows >= this.#policy.maxBatchSize) break;
    }
    return batch;
  }

  #armTimer(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(0, ms));
  }

  #dispatch(batch: Pending[]): void {
    const live = batch.filter((p) => !p.settled);
    if (live.length === 0) return;
    this.#inflight++;
    const started = performance.now();
    for (const p of live) this.#observer.onQueued?.(started - p.enqueuedAt);
    const rows = live.reduce((n, p) => n + p.rows, 0);
    this.#observer.onBatch?.(rows, live.length);
    const names = Object.keys(live[0]?.tensors ?? {});
    const inputs: Record<string, Tensor> = {};
    for (const name of names) inputs[name] = concatRows(live.map((p) => p.tensors[name] as Tensor));
    this.#run(inputs)
      .then((outputs) => {
        let offset = 0;
        for (const p of live) {
          const part: Record<string, Tensor> = {};
          for (const [name, t] of Object.entries(outputs)) part[name] = (t.shape[0] ?? 0) === rows ? sliceRows(t, offset, offset + p.rows) : t;
          offset += p.rows;
          settle(p, () => p.resolve({ outputs: part, queueMs: started - p.enqueuedAt }));
        }
      })
      .catch((err: unknown) => {
        const error = err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: 'model', model: this.#label, detail: err instanceof Error ? err.message : String(err) }, err);
        for (const p of live) settle(p, () => p.reject(error));
      })
      .finally(() => {
        this.#inflight--;
        this.#pump();
      });
  }
}

function settle(p: Pending, fn: () => void): void {
  if (p.settled) return;
  p.settled = true;
  if (p.timer) clearTimeout(p.timer);
  fn();
}
