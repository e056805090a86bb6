import { ferry, FerryError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { concatRows, sliceRows, tailKey } from './tensor-ops.js';

/** Dynamic batching settings of one model (Triton's names, microseconds for the delay). */
export interface BatchPolicy {
  /** Most rows in one runtime call. */
  readonly maxBatchSize: number;
  /**
   * Longest a request waits for others to join its batch: the bound of the adaptive delay,
   * which waits only as long as the observed arrival rate and compute time make company likely.
   */
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
  // No deadline unless configured: with batching on by default, a large request that computes
  // for long must still be answered, as it is without batching.
  timeoutMs: 0,
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
  /** Dropped once settled, so a finished request's tensors are not held by the deadline list. */
  tensors: Readonly<Record<string, Tensor>> | undefined;
  readonly rows: number;
  readonly key: string;
  readonly enqueuedAt: number;
  readonly resolve: (r: BatchResult) => void;
  readonly reject: (e: unknown) => void;
  settled: boolean;
}

/** Weight of the newest sample in the moving averages of arrival gaps and batch compute time. */
const EWMA = 0.2;

/**
 * How long the request at the head of a queue should still wait for company (µs), given the
 * moving averages of the gap between arrivals and of one batch's compute time (undefined until
 * observed), while another batch runs: no longer than the configured maximum, than the running
 * batch is expected to take (when it ends the runtime is idle and the queue goes at once), or
 * than the missing rows take to arrive; and not at all when no one is expected before then.
 */
export function adaptiveWaitUs(policy: Pick<BatchPolicy, 'maxQueueDelayUs' | 'maxBatchSize'>, waitedUs: number, readyRows: number, arrivalGapUs: number | undefined, computeUs: number | undefined, runningForUs: number): number {
  const left = policy.maxQueueDelayUs - waitedUs;
  if (arrivalGapUs === undefined || computeUs === undefined) return left;
  const wait = Math.min(left, computeUs - runningForUs, arrivalGapUs * (policy.maxBatchSize - readyRows));
  return arrivalGapUs > wait ? 0 : wait;
}

/**
 * Joins concurrent requests for one model version into larger runtime calls. When the
 * runtime is idle a request runs at once; while a batch runs, new requests gather and wait
 * (until `maxBatchSize` rows or a preferred size are waiting) for as long as the adaptive delay
 * says company is likely, never more than `maxQueueDelayUs`. The queue is bounded; each request
 * has a deadline, all watched by one timer. Requests with different non-batch shapes never
 * share a batch.
 */
export class Batcher {
  readonly #run: Run;
  readonly #policy: BatchPolicy;
  readonly #observer: BatchObserver;
  readonly #label: string;
  readonly #queue: Pending[] = [];
  /** Every unsettled request in arrival order (their deadlines come in the same order), from `#head` on. */
  #deadlines: Pending[] = [];
  #head = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #inflight = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Set while an idle runtime's batch gathers the requests read in this turn of the event loop. */
  #gathering: NodeJS.Immediate | undefined;
  #closed = false;
  #lastArrival: number | undefined;
  #arrivalGapUs: number | undefined;
  #computeUs: number | undefined;
  /** When the oldest running batch started. */
  #runningSince: number[] = [];

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
      const now = performance.now();
      const pending: Pending = { tensors, rows, key: tailKey(tensors), enqueuedAt: now, resolve, reject, settled: false };
      if (this.#lastArrival !== undefined) this.#arrivalGapUs = ewma(this.#arrivalGapUs, (now - this.#lastArrival) * 1000);
      this.#lastArrival = now;
      if (this.#policy.timeoutMs > 0) {
        this.#deadlines.push(pending);
        if (!this.#deadlineTimer) this.#deadlineTimer = this.#armDeadline(this.#policy.timeoutMs);
      }
      this.#queue.push(pending);
      this.#pump();
    });
  }

  /** Fail everything still queued and refuse new work. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#gathering) clearImmediate(this.#gathering);
    for (const p of this.#queue.splice(0)) this.#settle(p, () => p.reject(ferry('FERRY_E_SHUTTING_DOWN')));
  }

  #armDeadline(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#expire(), Math.max(0, ms));
    timer.unref();
    return timer;
  }

  /** Fail the requests past their deadline (queued or running), then wait for the next deadline. */
  #expire(): void {
    this.#deadlineTimer = undefined;
    const now = performance.now();
    const timeoutMs = this.#policy.timeoutMs;
    for (;;) {
      this.#compact();
      const p = this.#deadlines[this.#head];
      if (!p) return;
      const dueIn = p.enqueuedAt + timeoutMs - now;
      if (dueIn > 0) {
        this.#deadlineTimer = this.#armDeadline(dueIn);
        return;
      }
      const at = this.#queue.indexOf(p);
      if (at >= 0) this.#queue.splice(at, 1);
      this.#settle(p, () => p.reject(ferry('FERRY_E_TIMEOUT', { model: this.#label, timeoutMs })));
    }
  }

  /** Drop settled requests from the front of the deadline list (they mostly settle in order). */
  #compact(): void {
    const list = this.#deadlines;
    while (this.#head < list.length && list[this.#head]?.settled) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > list.length) {
      this.#deadlines = list.slice(this.#head);
      this.#head = 0;
    }
  }

  #settle(p: Pending, fn: () => void): void {
    if (p.settled) return;
    p.settled = true;
    p.tensors = undefined;
    fn();
    if (this.#deadlines[this.#head] === p) this.#compact();
  }

  /** `gathered`: called at the end of the turn of the event loop that an idle runtime waited for. */
  #pump(gathered = false): void {
    while (this.#inflight < this.#policy.maxInflight && this.#queue.length > 0) {
      const head = this.#queue[0];
      if (!head) return;
      const ready = this.#rowsReady(head.key);
      const waitedUs = (performance.now() - head.enqueuedAt) * 1000;
      const full = ready >= this.#policy.maxBatchSize || this.#policy.preferredBatchSizes.includes(ready);
      // An idle runtime starts at the end of this turn of the event loop (setImmediate), with
      // every request read in it: the requests a poll of the sockets brings share one call
      // instead of the first going alone, and a lone request waits no timer. Waiting longer for
      // company only pays while another batch runs (requests then gather behind it).
      if (!full && !gathered) {
        if (this.#gathering) return;
        if (this.#inflight === 0) {
          this.#gathering = setImmediate(() => {
            this.#gathering = undefined;
            this.#pump(true);
          });
          return;
        }
      }
      if (!full && this.#inflight > 0) {
        const runningForUs = (performance.now() - (this.#runningSince[0] ?? 0)) * 1000;
        const waitUs = adaptiveWaitUs(this.#policy, waitedUs, ready, this.#arrivalGapUs, this.#computeUs, runningForUs);
        if (waitUs > 0) {
          this.#armTimer(waitUs / 1000);
          return;
        }
      }
      this.#dispatch(this.#take(head.key));
    }
    // A wait armed for requests that have since been dispatched would only hold the event loop open.
    if (this.#queue.length === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
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

  #error(err: unknown): FerryError {
    return err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: 'model', model: this.#label, detail: err instanceof Error ? err.message : String(err) }, err);
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
    this.#runningSince.push(started);
    for (const p of live) this.#observer.onQueued?.(started - p.enqueuedAt);
    const rows = live.reduce((n, p) => n + p.rows, 0);
    this.#observer.onBatch?.(rows, live.length);
    const names = Object.keys(live[0]?.tensors ?? {});
    const inputs: Record<string, Tensor> = {};
    for (const name of names) inputs[name] = concatRows(live.map((p) => p.tensors?.[name] as Tensor));
    this.#run(inputs)
      .then((outputs) => {
        this.#computeUs = ewma(this.#computeUs, (performance.now() - started) * 1000);
        let offset = 0;
        for (const p of live) {
          const part: Record<string, Tensor> = {};
          for (const [name, t] of Object.entries(outputs)) part[name] = (t.shape[0] ?? 0) === rows ? sliceRows(t, offset, offset + p.rows) : t;
          offset += p.rows;
          this.#settle(p, () => p.resolve({ outputs: part, queueMs: started - p.enqueuedAt }));
        }
      })
      .catch(async (err: unknown) => {
        // One request's rows can fail a batch of several (a category the model never saw): each
        // request then runs alone, so only its own rows fail it, with its own row numbers.
        if (live.length > 1) {
          await Promise.all(live.filter((p) => !p.settled && p.tensors).map((p) => this.#run(p.tensors as Record<string, Tensor>).then(
            (outputs) => this.#settle(p, () => p.resolve({ outputs, queueMs: started - p.enqueuedAt })),
            (alone: unknown) => this.#settle(p, () => p.reject(this.#error(alone))),
          )));
          return;
        }
        const error = this.#error(err);
        for (const p of live) this.#settle(p, () => p.reject(error));
      })
      .finally(() => {
        this.#inflight--;
        const at = this.#runningSince.indexOf(started);
        if (at >= 0) this.#runningSince.splice(at, 1);
        this.#pump();
      });
  }
}

function ewma(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : previous + EWMA * (sample - previous);
}
